"""report.html: one self-contained page for a chief officer (inline CSS and SVG, no script, no links).

It is rendered from summary.json and the tally's bounded list of incidents to fix, so every number
on the page is one that summary.json also holds. Every piece of data is HTML-escaped: ids, codes
and messages come from the force's own export.
"""

from __future__ import annotations

from html import escape
from typing import Any

from checker.audit.tally import Tally, Worst

_CSS = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;color:#1b1b1b;margin:0;background:#fff}
main{max-width:1000px;margin:0 auto;padding:24px}
h1{font-size:26px;margin:0 0 4px}h2{font-size:20px;margin:36px 0 8px;border-bottom:2px solid #1d4f91;padding-bottom:4px}
.meta{color:#555;font-size:13px}
.headline{display:flex;gap:28px;align-items:center;background:#f3f6fa;border-left:6px solid #1d4f91;
padding:16px 20px;margin:20px 0}
.big{font-size:54px;font-weight:700;color:#1d4f91;line-height:1}
.counts{display:flex;gap:12px;flex-wrap:wrap;margin:12px 0}
.count{background:#f5f5f5;padding:8px 12px;border-radius:4px}.count b{display:block;font-size:20px}
table{border-collapse:collapse;width:100%;margin:8px 0;font-size:14px}
th,td{border-bottom:1px solid #ddd;padding:5px 8px;text-align:left;vertical-align:top}
th{background:#f3f6fa}td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.breach{color:#a4000f;font-weight:600}.risk{color:#8a5a00;font-weight:600}.needs_review{color:#00607a;font-weight:600}
.small{font-size:12px;color:#555}.note{background:#fff8e1;border-left:4px solid #e0a800;padding:8px 12px}
svg text{font:12px system-ui,Arial,sans-serif;fill:#1b1b1b}
@media print{h2{break-after:avoid}tr{break-inside:avoid}.headline{border:1px solid #1d4f91}}
"""

_LABEL_W = 300
_PLOT_W = 380
_ROW_H = 26


def _e(value: Any) -> str:
    return escape("" if value is None else str(value), quote=True)


def _pct(rate: float | None) -> str:
    return "-" if rate is None else f"{rate * 100:.1f}%"


def interval_chart(rows: list[tuple[str, dict[str, Any]]], title: str) -> str:
    """An SVG of each rate as a dot with its confidence interval as a whisker, on a 0-100% axis."""
    shown = [(label, f) for label, f in rows if f["denominator"]]
    if not shown:
        return '<p class="small">No cases to chart.</p>'
    height = 30 + _ROW_H * len(shown)
    width = _LABEL_W + _PLOT_W + 190
    parts = [
        f'<svg role="img" width="{width}" height="{height}" viewBox="0 0 {width} {height}"><title>{_e(title)}</title>'
    ]
    for tick in range(0, 101, 25):
        x = _LABEL_W + _PLOT_W * tick / 100
        parts.append(f'<line x1="{x:.1f}" y1="4" x2="{x:.1f}" y2="{height - 22}" stroke="#ddd"/>')
        parts.append(f'<text x="{x:.1f}" y="{height - 6}" text-anchor="middle">{tick}%</text>')
    for i, (label, f) in enumerate(shown):
        y = 16 + i * _ROW_H
        lo = _LABEL_W + _PLOT_W * f["low"]
        hi = _LABEL_W + _PLOT_W * f["high"]
        mid = _LABEL_W + _PLOT_W * f["rate"]
        colour = "#1d4f91" if f.get("better", "higher") == "higher" else "#b35c00"
        tip = f"{label}: {f['text']} ({f['numerator']} of {f['denominator']})"
        parts.append(f"<g><title>{_e(tip)}</title>")
        parts.append(f'<text x="{_LABEL_W - 8}" y="{y + 4}" text-anchor="end">{_e(label)}</text>')
        parts.append(f'<line x1="{lo:.1f}" y1="{y}" x2="{hi:.1f}" y2="{y}" stroke="{colour}" stroke-width="2"/>')
        for x in (lo, hi):
            parts.append(
                f'<line x1="{x:.1f}" y1="{y - 5}" x2="{x:.1f}" y2="{y + 5}" stroke="{colour}" stroke-width="2"/>'
            )
        parts.append(f'<circle cx="{mid:.1f}" cy="{y}" r="5" fill="{colour}"/>')
        parts.append(
            f'<text x="{_LABEL_W + _PLOT_W + 10}" y="{y + 4}">{_pct(f["rate"])} '
            f"(±{f['half_width_points']:.1f} pts, n={f['denominator']:,})</text></g>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _short(text: str, size: int = 40) -> str:
    return text if len(text) <= size else text[: size - 1].rstrip() + "…"


def bar_chart(rows: list[tuple[str, int]], title: str, colour: str = "#a4000f") -> str:
    """An SVG of horizontal bars, longest first."""
    if not rows:
        return '<p class="small">Nothing to chart.</p>'
    top = max(v for _, v in rows) or 1
    height = 10 + _ROW_H * len(rows)
    width = _LABEL_W + _PLOT_W + 90
    parts = [
        f'<svg role="img" width="{width}" height="{height}" viewBox="0 0 {width} {height}"><title>{_e(title)}</title>'
    ]
    for i, (label, value) in enumerate(rows):
        y = 6 + i * _ROW_H
        w = max(_PLOT_W * value / top, 1)
        parts.append(f'<text x="{_LABEL_W - 8}" y="{y + 14}" text-anchor="end">{_e(_short(label))}</text>')
        parts.append(f'<rect x="{_LABEL_W}" y="{y + 2}" width="{w:.1f}" height="16" fill="{colour}" opacity="0.8"/>')
        parts.append(f'<text x="{_LABEL_W + w + 6:.1f}" y="{y + 14}">{value:,}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _figure_table(figures: dict[str, dict[str, Any]], keys: list[str] | None = None) -> str:
    rows = []
    for key, f in figures.items():
        if keys is not None and key not in keys:
            continue
        rows.append(
            f"<tr><td>{_e(f['label'])}</td><td class=n>{f['numerator']:,}</td><td class=n>{f['denominator']:,}</td>"
            f"<td>{_e(f['text'])}</td><td class=n>{_pct(f['low'])} – {_pct(f['high'])}</td></tr>"
        )
    return (
        "<table><tr><th>Measure</th><th>Cases meeting it</th><th>Cases</th><th>As the inspectorate states it</th>"
        "<th>95% interval</th></tr>" + "".join(rows) + "</table>"
    ).replace("95% interval", f"{_confidence(figures)} interval")


def _confidence(figures: dict[str, dict[str, Any]]) -> str:
    first = next(iter(figures.values()), None)
    return f"{first['confidence'] * 100:g}%" if first else "95%"


def _incident_rows(worst: list[Worst]) -> str:
    rows = []
    for w in worst:
        items = "".join(
            f'<li><span class="{_e(f.outcome)}">{_e(f.rule_id)} {_e(f.outcome.replace("_", " "))}</span> '
            f"{_e(f.title)} <span class=small>({_e(f.subject)})</span>"
            f"<div class=small>{_e(f.message)}</div></li>"
            for f in w.findings
        )
        narrative = f"<div class=small><b>Log:</b> {_e(w.narrative)}</div>" if w.narrative else ""
        rows.append(
            f"<tr><td>{_e(w.incident_id)}<div class=small>{_e(w.where)}</div></td><td>{_e(w.period)}</td>"
            f"<td class=n>{w.breaches}</td><td class=n>{w.risks}</td><td class=n>{w.reviews}</td>"
            f"<td><ul style='margin:0;padding-left:18px'>{items}</ul>{narrative}</td></tr>"
        )
    return (
        "<table><tr><th>Incident</th><th>Month</th><th>Breaches</th><th>Risks</th><th>Reviews</th><th>Findings</th></tr>"
        + "".join(rows)
        + "</table>"
    )


# Longer than 80 lines on purpose: the page's sections in the order a reader meets them, each a few
# lines of markup around a helper (interval_chart, bar_chart, _figure_table, _incident_rows).
def render(summary: dict[str, Any], tally: Tally) -> str:
    """The whole page."""
    s = summary
    figs: dict[str, dict[str, Any]] = s["figures"]
    head = figs["recording.all_crime"]
    counts = s["counts"]
    rules = s["ruleset"]
    out: list[str] = [
        '<!doctype html><html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>Crime recording self-check</title>",
        f"<style>{_CSS}</style></head><body><main>",
        "<h1>Crime recording self-check</h1>",
        f"<p class=meta>Judged as of {_e(s['as_of'])} against rule set {_e(rules['hash'])} "
        f"({_e(', '.join(rules['editions']))}; {rules['rules']} rules). Input: {_e(', '.join(s['inputs']['files']))}."
        f" Made by {_e(s['generated_by'])}.</p>",
    ]
    sample = s.get("sample")
    if sample:
        out.append(
            f"<p class=note>A simple random sample of {sample['size']:,} of the {sample['of_read']:,} incidents read "
            f"(seed {sample['seed']}): the figures estimate the whole batch, within the intervals shown.</p>"
        )
    out.append('<section class="headline">')
    out.append(
        f"<div class=big>{_pct(head['rate'])}</div><div><b>of crimes were recorded correctly</b> "
        f"(all crime, excluding fraud): {_e(head['text'])}; {head['numerator']:,} of "
        f"{head['denominator']:,} crimes that should have been recorded."
    )
    estimate = s.get("unrecorded_estimate")
    if estimate and estimate.get("unrecorded_per_year") is not None:
        out.append(f"<br>Applied to {estimate['recorded_per_year']:,} crimes recorded a year: {_e(estimate['text'])}.")
    out.append("</div></section>")
    out.append('<div class="counts">')
    for label, key in (
        ("incidents read", "read"),
        ("audited", "audited"),
        ("checked", "checked"),
        ("could not be checked", "rejected"),
        ("findings", "findings"),
    ):
        out.append(f"<div class=count><b>{counts[key]:,}</b>{label}</div>")
    with_ = s["findings"]["incidents_with"]
    out.append(f"<div class=count><b>{with_['breach']:,}</b>incidents with a breach</div></div>")

    recording = [(f["label"], f) for k, f in figs.items() if k.startswith("recording.")]
    out.append("<h2>Recording rates</h2>")
    out.append(interval_chart(recording, "Recording rates with confidence intervals"))
    out.append(_figure_table(figs, [k for k in figs if k.startswith("recording.")]))

    out.append("<h2>Timeliness</h2>")
    timely = figs["timeliness.within_window"]
    out.append(
        f"<p>{_e(timely['label'])}: <b>{_e(timely['text'])}</b> ({timely['numerator']:,} of "
        f"{timely['denominator']:,} disclosures with a record).</p>"
    )
    buckets = s["timeliness"]["first_record_within"]
    out.append(bar_chart(list(buckets.items()), "Time from disclosure to first record", colour="#1d4f91"))

    other = [(f["label"], f) for k, f in figs.items() if k.startswith(("n100.", "cancellation.", "timeliness."))]
    out.append("<h2>N100 use and cancellations</h2>")
    out.append(
        "<p class=small>Blue: higher is better. Orange: lower is better. Small samples (such as 20 N100s) give "
        "wide intervals.</p>"
    )
    out.append(interval_chart(other, "N100 use, cancellations and timeliness with confidence intervals"))
    out.append(_figure_table(figs, [k for k in figs if k.startswith(("n100.", "cancellation."))]))

    if s["periods"]:
        out.append("<h2>By month</h2>")
        monthly = [(p["period"], p["figures"]["recording.all_crime"]) for p in s["periods"]]
        out.append(interval_chart(monthly, "All-crime recording rate by month"))
        rows = "".join(
            f"<tr><td>{_e(p['period'])}</td><td class=n>{p['checked']:,}</td>"
            f"<td>{_e(p['figures']['recording.all_crime']['text'])}</td>"
            f"<td>{_e(p['figures']['timeliness.within_window']['text'])}</td></tr>"
            for p in s["periods"]
        )
        out.append(
            "<table><tr><th>Month reported</th><th>Incidents checked</th><th>Recording rate (all crime)</th>"
            f"<th>{_e(timely['label'])}</th></tr>{rows}</table>"
        )

    by_rule = s["findings"]["by_rule"]
    out.append("<h2>Rules most often broken</h2>")
    out.append(bar_chart([(f"{r['rule_id']} {r['title']}", r["findings"]) for r in by_rule[:10]], "Findings by rule"))
    rows = "".join(
        f"<tr><td>{_e(r['rule_id'])}</td><td>{_e(r['title'])}</td><td>{_e(r['area'])}</td>"
        f"<td class='{_e(r['outcome'])}'>{_e(r['outcome'])}</td><td class=n>{r['findings']:,}</td>"
        f"<td class=n>{r['excepted']:,}</td></tr>"
        for r in by_rule
    )
    out.append(
        "<table><tr><th>Rule</th><th>What</th><th>Area</th><th>Outcome</th><th>Findings</th>"
        f"<th>Excepted</th></tr>{rows}</table>"
    )

    worst = tally.incidents_to_fix()
    out.append("<h2>Incidents to fix first</h2>")
    shown = f"the {len(worst):,} with the most serious findings are" if len(worst) < with_["any"] else "all are"
    out.append(
        f"<p>{with_['any']:,} incidents have findings; {shown} listed here, breaches first. findings.csv lists "
        "every finding, decisions.csv every disclosure.</p>"
    )
    out.append(_incident_rows(worst))

    out.append("<h2>Records that could not be checked</h2>")
    if counts["rejected"]:
        rows = "".join(
            f"<tr><td>{_e(where)}</td><td>{_e(rid)}</td><td>{_e(text)}</td></tr>"
            for _, where, rid, text in tally.rejected_examples
        )
        out.append(
            f"<p>{counts['rejected']:,} items could not be checked and are not in any figure; rejected.csv "
            f"lists each with where it is and why. The first:</p><table><tr><th>Where</th><th>Incident</th>"
            f"<th>Why</th></tr>{rows}</table>"
        )
    else:
        out.append("<p>Every item read was checked.</p>")

    out.append("<h2>How the figures are worked out</h2><table><tr><th>Measure</th><th>Definition</th></tr>")
    for f in figs.values():
        out.append(f"<tr><td>{_e(f['label'])}</td><td>{_e(f['definition'])}</td></tr>")
    st = s["settings"]
    method = "Wilson score" if st["ci_method"] == "wilson" else "normal approximation"
    fpc = (
        f" with a finite-population correction for a population of {st['population']:,} incidents"
        if st["population"]
        else ""
    )
    dp = s["data_protection"]
    ids = "are pseudonymised with a secret key" if dp["pseudonymised"] else "are shown as recorded"
    out.append(
        f"</table><p class=small>Intervals: {method}, {st['confidence'] * 100:g}% confidence{fpc}. Each figure's "
        f"counts are in summary.json. Narratives {'are' if dp['narratives_included'] else 'are not'} included; "
        f"ids {ids}."
        "</p></main></body></html>"
    )
    return "\n".join(out)
