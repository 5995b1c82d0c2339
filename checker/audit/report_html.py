"""report.html: one self-contained page for a chief officer, rendered from Jinja2 templates.

The page is built from summary.json, the tally's bounded list of incidents to fix, and any earlier
audits' summary.json files (`--previous`), so every number on it is one that a summary also holds.
The templates are in checker/audit/templates; `--templates DIR` puts a force's own files in front of them
(any of report.html.j2, base.html.j2, style.css.j2, brand.css.j2, macros.html.j2). Autoescaping is
on: ids, codes and messages come from the force's own export. The page has inline CSS and SVG, no
script and no links to anything outside it; it prints on A4 with the protective marking at the head
and foot of every page, and reflows to a phone's width.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import (
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    StrictUndefined,
    TemplateError,
    TemplateSyntaxError,
    select_autoescape,
)
from markupsafe import Markup

from checker.audit.tally import Tally, Worst
from checker.core.errors import CheckerError, Problem
from checker.rules.loader import AREA_NAMES, OUTCOME_NAMES

DEFAULT_MARKING = "OFFICIAL-SENSITIVE"
INCIDENTS_SHOWN = 25  # incidents listed on the page; findings.csv has every one
RULES_CHARTED = 10
LONDON = ZoneInfo("Europe/London")
# Internal vocabulary that rule messages quote in brackets, e.g. "(victim_report)": not for the page
_CODE = re.compile(r"\s*\((?:[a-z0-9]+_)+[a-z0-9]+\)")
TREND_MEASURES = (
    "recording.all_crime",
    "recording.violence_against_the_person",
    "recording.sexual_offences",
    "timeliness.within_window",
)


@dataclass(frozen=True)
class ReportOptions:
    """What the command line says about the page beyond the audit itself."""

    templates: Path | None = None
    marking: str = DEFAULT_MARKING
    force: str | None = None
    previous: tuple[dict[str, Any], ...] = field(default_factory=tuple)


def _css_string(value: Any) -> Markup:
    """Text for inside a CSS double-quoted string in a <style> element."""
    text = str(value)
    out = []
    for ch in text:
        if ch in '"\\<>' or ord(ch) < 32:
            out.append(f"\\{ord(ch):x} ")
        else:
            out.append(ch)
    return Markup("".join(out))


BUNDLED_TEMPLATES = Path(__file__).resolve().parent / "templates"


def environment(templates: Path | None) -> Environment:
    """The Jinja2 environment: the force's folder first, then the bundled templates."""
    loaders = []
    if templates is not None:
        if not templates.is_dir():
            raise CheckerError([Problem("--templates must be a folder of Jinja2 templates", file=str(templates))])
        loaders.append(FileSystemLoader(templates))
    loaders.append(FileSystemLoader(BUNDLED_TEMPLATES))
    env = Environment(
        loader=ChoiceLoader(loaders),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["css_string"] = _css_string
    return env


def _pct(rate: float | None) -> str:
    return "–" if rate is None else f"{rate * 100:.1f}%"


def _round(value: float) -> float:
    return round(value * 100, 2)


def _chart_rows(figures: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for f in figures:
        if not f["denominator"]:
            continue
        rows.append(
            {
                "label": f["label"],
                "better": f.get("better", "higher"),
                "low_pct": _round(f["low"]),
                "band_pct": max(_round(f["high"] - f["low"]), 0.4),
                "rate_pct": _round(f["rate"]),
                "rate_text": _pct(f["rate"]),
                "n": f"{f['denominator']:,}",
            }
        )
    return rows


def _interval(f: dict[str, Any]) -> str:
    if not f["denominator"]:
        return "–"
    return f"{f['low'] * 100:.1f} to {f['high'] * 100:.1f}%"


def _table_rows(figures: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**f, "interval": _interval(f)} for f in figures]


def _when(iso: str | None) -> str:
    """A time as a person reads it, in UK time: '1 February 2025, 00:00 (UK time)'."""
    if not iso:
        return "–"
    moment = datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(LONDON)
    return f"{moment.day} {moment:%B %Y, %H:%M} (UK time)"


def produced_on() -> str:
    """Today's date in the UK, or the date SOURCE_DATE_EPOCH names (for reproducible reports)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "")
    moment = datetime.fromtimestamp(int(epoch), UTC) if epoch.isdigit() else datetime.now(UTC)
    local = moment.astimezone(LONDON)
    return f"{local.day} {local:%B %Y}"


def _month(period: str) -> str:
    year, month = period.split("-")
    return datetime(int(year), int(month), 1, tzinfo=UTC).strftime("%B %Y")


def _period_text(s: dict[str, Any]) -> str:
    period = s.get("period") or {}
    first, last = period.get("first"), period.get("last")
    if not first or not last:
        return "no incident was checked"
    if first == last:
        return f"incidents reported in {_month(first)}"
    return f"incidents reported from {_month(first)} to {_month(last)}"


def line_chart(points: list[tuple[str, dict[str, Any]]], title: str, confidence: str) -> dict[str, Any] | None:
    """An SVG line of rates with their interval as a band, scaled to the page by its viewBox."""
    shown = [(label, f) for label, f in points if f["denominator"]]
    if len(shown) < 2:
        return None
    width, height, left, top, bottom = 640, 230, 44, 12, 30
    plot_h = height - top - bottom
    lows = [float(f["low"]) for _, f in shown]
    highs = [float(f["high"]) for _, f in shown]
    lo = max(0.0, (min(lows) * 10 // 1) / 10)
    hi = min(1.0, -(-max(highs) * 10 // 1) / 10)
    if hi - lo < 0.2:
        lo, hi = max(0.0, hi - 0.2), max(hi, 0.2)
    step = (width - left - 20) / (len(shown) - 1)

    def y(rate: float) -> float:
        return round(top + plot_h * (1 - (rate - lo) / (hi - lo)), 1)

    xs = [round(left + 10 + i * step, 1) for i in range(len(shown))]
    every = max(1, -(-len(shown) // 8))
    ticks = []
    tick = lo
    while tick <= hi + 1e-9:
        ticks.append({"y": y(tick), "label": f"{tick * 100:.0f}%"})
        tick += 0.1 if hi - lo <= 0.5 else 0.2
    return {
        "title": title,
        "width": width,
        "height": height,
        "left": left,
        "ticks": ticks,
        "confidence": confidence,
        "line": " ".join(f"{x},{y(f['rate'])}" for x, (_, f) in zip(xs, shown, strict=True)),
        "band": " ".join(
            [f"{x},{y(f['high'])}" for x, (_, f) in zip(xs, shown, strict=True)]
            + [f"{x},{y(f['low'])}" for x, (_, f) in reversed(list(zip(xs, shown, strict=True)))]
        ),
        "points": [
            {
                "x": x,
                "y": y(f["rate"]),
                "label": label,
                "show": (i % every == 0 and len(shown) - 1 - i >= every) or i == len(shown) - 1,
                "anchor": "start" if i == 0 else "end" if i == len(shown) - 1 else "middle",
                "tip": f"{label}: {f['text']} ({f['numerator']:,} of {f['denominator']:,})",
            }
            for i, (x, (label, f)) in enumerate(zip(xs, shown, strict=True))
        ],
    }


def _trend(s: dict[str, Any], previous: tuple[dict[str, Any], ...], confidence: str) -> dict[str, Any] | None:
    if not previous:
        return None
    from checker.audit.compare import compare

    audits = [*previous, s]
    head = ["Audit", "Period", "Judged as of"] + [s["figures"][k]["label"] for k in TREND_MEASURES if k in s["figures"]]
    rows = []
    for i, doc in enumerate(audits):
        name = "This audit" if i == len(audits) - 1 else f"Earlier audit {i + 1}"
        figs = doc.get("figures", {})
        rows.append(
            [name, _period_text(doc), _when(doc.get("as_of"))]
            + [_pct(figs[k]["rate"]) if k in figs else "–" for k in TREND_MEASURES if k in s["figures"]]
        )
    chart = line_chart(
        [
            (f"audit {i + 1}" if i < len(audits) - 1 else "this audit", doc["figures"]["recording.all_crime"])
            for i, doc in enumerate(audits)
            if "recording.all_crime" in doc.get("figures", {})
        ],
        "All-crime recording rate, audit by audit",
        confidence,
    )
    doc = compare(previous[-1], s)
    changes = []
    for r in doc["measures"]:
        if r["note"]:
            continue
        if r["significant_adjusted"]:
            change = r["change_points"]
            better = change > 0 if r["better"] == "higher" else change < 0
            verdict = "better, beyond chance" if better else "worse, beyond chance"
        elif r["significant"]:
            verdict = "possibly changed (not once the figures tested together are allowed for)"
        else:
            verdict = "no real change"
        changes.append(
            {
                "label": r["label"],
                "a": _pct(r["a"]["rate"]),
                "b": _pct(r["b"]["rate"]),
                "change": f"{r['change_points']:+.1f} pts",
                "verdict": verdict,
                "significant": r["significant_adjusted"],
            }
        )
    summary = f"This audit beside {len(previous)} earlier audit{'s' if len(previous) > 1 else ''}."
    return {
        "summary": summary
        + (" " + " ".join(f"Note: {n}." for n in doc["notes"][:-1]) if len(doc["notes"]) > 1 else ""),
        "head": head,
        "rows": rows,
        "chart": chart,
        "changes": changes,
        "method": "Changes are tested with " + doc["method"] + ".",
    }


def _key_messages(s: dict[str, Any], trend: dict[str, Any] | None) -> list[str]:
    figs = s["figures"]
    head = figs["recording.all_crime"]
    out = []
    if head["denominator"]:
        out.append(
            f"{_pct(head['rate'])} of the crimes that should have been recorded were recorded correctly "
            f"({head['numerator']:,} of {head['denominator']:,}); as the inspectorate would state it, {head['text']}."
        )
    else:
        out.append("No disclosure in this batch required a crime to be recorded, so there is no recording rate.")
    recording = [
        f for k, f in figs.items() if k.startswith("recording.") and k != "recording.all_crime" and f["denominator"]
    ]
    if recording:
        worst = min(recording, key=lambda f: f["rate"])
        out.append(f"The lowest recording rate is for {worst['label'].lower()}: {worst['text']}.")
    timely = figs.get("timeliness.within_window")
    if timely and timely["denominator"]:
        out.append(f"{timely['label']}: {timely['text']} of the disclosures that were recorded.")
    by_rule = s["findings"]["by_rule"]
    if by_rule:
        top = by_rule[0]
        out.append(f"The most common failing: {top['title'].rstrip('.')} ({top['findings']:,} findings).")
    with_ = s["findings"]["incidents_with"]
    out.append(
        f"{with_['breach']:,} of {s['counts']['checked']:,} incidents checked have at least one breach of the "
        "counting rules to put right."
    )
    if trend:
        better = [c["label"].lower() for c in trend["changes"] if c["significant"] and "better" in c["verdict"]]
        worse = [c["label"].lower() for c in trend["changes"] if c["significant"] and "worse" in c["verdict"]]
        if better or worse:
            parts = []
            if better:
                parts.append("better for " + ", ".join(better))
            if worse:
                parts.append("worse for " + ", ".join(worse))
            out.append("Since the previous audit, recording is " + " and ".join(parts) + ", beyond chance.")
        else:
            out.append("No figure has changed beyond chance since the previous audit.")
    if s["counts"]["rejected"]:
        out.append(f"{s['counts']['rejected']:,} records could not be checked and are in no figure: see rejected.csv.")
    return out


def _incidents(worst: list[Worst], total: int, narratives: bool) -> dict[str, Any]:
    shown = worst[:INCIDENTS_SHOWN]
    rows = []
    for w in shown:
        ranked = sorted(w.findings, key=lambda f: ("breach", "risk", "needs_review").index(f.outcome))
        first = ranked[0]
        others = len(ranked) - 1
        rows.append(
            {
                "incident_id": w.incident_id,
                "period": _month(w.period) if w.period else "–",
                "outcome": OUTCOME_NAMES.get(first.outcome, first.outcome),
                "outcome_class": first.outcome,
                "title": first.title,
                "message": _CODE.sub("", first.message),
                "more": f"{others} more finding{'s' if others > 1 else ''}" if others else "–",
                "narrative": w.narrative if narratives else None,
            }
        )
    if not total:
        intro = "No incident has a finding."
    elif len(shown) < total:
        intro = (
            f"{total:,} incidents have findings. The {len(shown):,} with the most serious are listed here, "
            "breaches first, each with its most serious finding; findings.csv and report.xlsx list every finding."
        )
    else:
        intro = f"{total:,} incidents have findings, listed here breaches first; findings.csv lists every finding."
    return {"rows": rows, "intro": intro}


def _breakdowns(s: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for name, rows in (s.get("breakdowns") or {}).items():
        ordered = sorted(rows, key=lambda r: (r["rate"] if r["rate"] is not None else 2.0, r["value"]))
        shown = ordered[:15]
        out.append(
            {
                "name": name,
                "rows": [
                    {
                        **r,
                        "recording": f"{_pct(r['rate'])} ({r['numerator']:,} of {r['denominator']:,})"
                        if r["denominator"]
                        else "no crimes to record",
                    }
                    for r in shown
                ],
                "more": f"{len(ordered) - len(shown):,} more in summary.json and report.xlsx"
                if len(ordered) > len(shown)
                else "",
            }
        )
    return out


# Longer than 80 lines on purpose: one literal holding everything the page shows, in the order the
# page shows it; split up, the templates' variables would be nowhere in one place.
def context(summary: dict[str, Any], tally: Tally, options: ReportOptions) -> dict[str, Any]:
    """Everything the templates show, worked out here so that the templates only lay it out."""
    s = summary
    figs: dict[str, dict[str, Any]] = s["figures"]
    head = figs["recording.all_crime"]
    st = s["settings"]
    confidence = f"{st['confidence'] * 100:g}%"
    method_name = "Wilson" if st["ci_method"] == "wilson" else "normal-approximation"
    rules = s["ruleset"]
    counts = s["counts"]
    force = options.force or s.get("force")
    sample = s.get("sample")
    trend = _trend(s, options.previous, confidence)
    recording = [f for k, f in figs.items() if k.startswith("recording.")]
    other = [f for k, f in figs.items() if k.startswith(("n100.", "cancellation.", "timeliness."))]
    buckets = s["timeliness"]["first_record_within"]
    top_bucket = max(buckets.values(), default=0) or 1
    timely = figs["timeliness.within_window"]
    by_rule = s["findings"]["by_rule"]
    top_rule = max((r["findings"] for r in by_rule), default=0) or 1
    estimate = s.get("unrecorded_estimate")
    dp = s["data_protection"]
    fpc = (
        f" with a finite-population correction for a population of {st['population']:,} incidents"
        if st["population"]
        else ""
    )
    periods = s["periods"]
    return {
        "title": "Crime recording self-audit",
        "marking": options.marking,
        "force": force,
        "period": _period_text(s),
        "as_of": _when(s["as_of"]),
        "ruleset": f"{', '.join(rules['editions'])}; {rules['rules']} rules (identifier {rules['hash']})",
        "produced": produced_on(),
        "generated_by": s["generated_by"],
        "key_messages": _key_messages(s, trend),
        "sample": (
            f"A simple random sample of {sample['size']:,} of the {sample['of_read']:,} incidents read "
            f"(seed {sample['seed']}): the figures estimate the whole batch, within the intervals shown."
            if sample
            else None
        ),
        "headline": {
            "rate": _pct(head["rate"]),
            "count_text": f"{head['numerator']:,} of {head['denominator']:,} crimes that should have been recorded",
            "text": head["text"],
            "interval": f"{confidence} {method_name} interval {_interval(head)}" if head["denominator"] else "",
        },
        "unrecorded": (
            f"Applied to {estimate['recorded_per_year']:,} crimes recorded a year: {estimate['text']}."
            if estimate and estimate.get("unrecorded_per_year") is not None
            else None
        ),
        "counts": [
            {"label": label, "value": counts[key]}
            for label, key in (
                ("incidents read", "read"),
                ("checked", "checked"),
                ("could not be checked", "rejected"),
                ("findings", "findings"),
            )
        ]
        + [{"label": "incidents with a breach", "value": s["findings"]["incidents_with"]["breach"]}],
        "confidence": confidence,
        "method_name": method_name,
        "any_lower": any(f.get("better") == "lower" for f in other),
        "interval_head": f"{confidence} interval",
        "interval_sub": f"{method_name}, better for small samples",
        "recording": {"chart": _chart_rows(recording), "rows": _table_rows(recording)},
        "other": {
            "chart": _chart_rows(other),
            "rows": _table_rows([f for k, f in figs.items() if k.startswith(("n100.", "cancellation."))]),
        },
        "timeliness": {
            "text": (
                f"{timely['label']}: {timely['text']} ({timely['numerator']:,} of {timely['denominator']:,} "
                "disclosures with a record)."
            ),
            "buckets": [
                {"label": name, "value": value, "pct": _round(value / top_bucket)} for name, value in buckets.items()
            ],
        },
        "trend": trend,
        "months": (
            {
                "chart": line_chart(
                    [(p["period"], p["figures"]["recording.all_crime"]) for p in periods],
                    "All-crime recording rate by month",
                    confidence,
                ),
                "timely_label": timely["label"],
                "rows": [
                    {
                        "period": _month(p["period"]),
                        "checked": p["checked"],
                        "recording": p["figures"]["recording.all_crime"]["text"],
                        "timely": p["figures"]["timeliness.within_window"]["text"],
                    }
                    for p in periods
                ],
            }
            if periods
            else None
        ),
        "breakdowns": _breakdowns(s),
        "breakdown_names": ", ".join(s.get("breakdowns") or {}),
        "rules": {
            "chart": [
                {"label": r["title"], "value": r["findings"], "pct": _round(r["findings"] / top_rule)}
                for r in by_rule[:RULES_CHARTED]
            ],
            "rows": [
                {
                    **r,
                    "area": AREA_NAMES.get(r["area"] or "", r["area"] or "–"),
                    "outcome": OUTCOME_NAMES.get(r["outcome"] or "", r["outcome"] or "–"),
                    "outcome_class": r["outcome"] or "",
                }
                for r in by_rule
            ],
        },
        "incidents": _incidents(
            tally.incidents_to_fix(), s["findings"]["incidents_with"]["any"], dp["narratives_included"]
        ),
        "rejected": {
            "intro": (
                f"{counts['rejected']:,} items could not be checked and are in no figure; rejected.csv lists each "
                "with the file, line and field. The first:"
            ),
            "rows": [
                {"incident": rid or "(no id)", "why": text} for _, _where, rid, text in tally.rejected_examples[:10]
            ],
        },
        "definitions": [{"label": f["label"], "definition": f["definition"]} for f in figs.values()],
        "method_note": (
            f"The inspectorate column uses the normal approximation, as published inspection figures do; with fewer "
            f"than 30 cases it gives the interval as a range. The interval column is the {method_name} interval at "
            f"{confidence} confidence{fpc}. Each figure's counts are in summary.json."
        ),
        "footer": (
            f"Narratives {'are' if dp['narratives_included'] else 'are not'} included; ids "
            + ("are pseudonymised with a secret key" if dp["pseudonymised"] else "are shown as recorded")
            + f". {options.marking}: handle and store this report accordingly."
        ),
    }


def render(summary: dict[str, Any], tally: Tally, options: ReportOptions | None = None) -> str:
    """The whole page. A force's template that fails (a name the page does not have) is an error
    naming its file and line, not an internal error."""
    options = options or ReportOptions()
    env = environment(options.templates)
    try:
        return env.get_template("report.html.j2").render(context(summary, tally, options))
    except TemplateError as exc:
        raise _template_problem(exc) from None


def check_templates(templates: Path) -> None:
    """Compile each of a force's templates (--templates) before the audit starts, so that one
    that does not parse stops the run at once, naming its file and line, not after the batch."""
    env = environment(templates)
    names = sorted(p.name for p in templates.iterdir() if p.suffix == ".j2")
    bundled = sorted(p.name for p in BUNDLED_TEMPLATES.glob("*.j2"))
    if not set(names) & set(bundled):
        # a wrong folder, or files misnamed (brand.css): the report would come out as without it
        msg = f"--templates holds none of the report's templates ({', '.join(bundled)}): it would change nothing"
        raise CheckerError([Problem(msg, file=str(templates))])
    for name in names:
        try:
            env.get_template(name)
        except TemplateError as exc:
            raise _template_problem(exc) from None


def _template_problem(exc: TemplateError) -> CheckerError:
    """Where in the templates rendering failed: the syntax error's own place, or else the last
    template frame of the traceback (Jinja2 maps its frames to template lines)."""
    file, line = (exc.filename, exc.lineno) if isinstance(exc, TemplateSyntaxError) else (None, None)
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename.endswith(".j2"):
            file, line = tb.tb_frame.f_code.co_filename, tb.tb_lineno
        tb = tb.tb_next
    return CheckerError([Problem(f"report template: {exc.message or exc}", file=file, line=line)])
