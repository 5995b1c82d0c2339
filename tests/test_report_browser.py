"""report.html in a real browser: Debian's Chromium, driven by Playwright.

Screenshots at 1280 px and 400 px go to test-output/screenshots/ (git-ignored) for a person to look
at; the assertions are that a phone's width never needs sideways scrolling, that the page prints
on A4, and that the report of 20,000 generated incidents prints to a bounded number of pages.
"""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from checker.cli.exits import EXIT_OK
from checker.cli.main import main

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "test-output" / "screenshots"
A4 = (595.28, 841.89)  # points
MAX_PAGES_20K = 20  # the report that printed to 102 pages


def audit(out: Path, *args: str) -> Path:
    code = main(["audit", *args, "--out", str(out), "--quiet"], stdout=io.StringIO())
    assert code == EXIT_OK
    return out / "report.html"


def look(browser: Any, page_file: Path, name: str) -> dict[int, int]:
    """Screenshots at 1280 and 400 px; the widths the page needs at each."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    widths: dict[int, int] = {}
    for width in (1280, 400):
        page = browser.new_page(viewport={"width": width, "height": 900})
        page.goto(page_file.as_uri())
        widths[width] = page.evaluate("document.documentElement.scrollWidth")
        wide = page.evaluate(
            "w => [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > w)"
            ".map(e => e.tagName + '.' + e.className + ': ' + (e.textContent || '').slice(0, 60))",
            width,
        )
        assert not wide or widths[width] <= width, f"wider than {width} px: {wide[:5]}"
        page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)
        page.close()
    return widths


def printed(browser: Any, page_file: Path, name: str) -> tuple[int, list[tuple[float, float]]]:
    """Print to PDF as a person would (the page's own @page size); pages and their sizes."""
    from pypdf import PdfReader

    page = browser.new_page()
    page.goto(page_file.as_uri())
    pdf = page.pdf(prefer_css_page_size=True, print_background=True)
    page.close()
    (SHOTS / f"{name}.pdf").write_bytes(pdf)
    reader = PdfReader(io.BytesIO(pdf))
    sizes = [(float(p.mediabox.width), float(p.mediabox.height)) for p in reader.pages]
    return len(reader.pages), sizes


def test_small_report_reads_on_a_phone_and_prints_on_a4(browser: Any, tmp_path: Path) -> None:
    csv = ROOT / "fixtures" / "csv"
    html = audit(
        tmp_path / "r",
        str(csv / "incidents.csv"),
        "--records",
        str(csv / "crimes.csv"),
        "--disclosures",
        str(csv / "disclosures.csv"),
        "--mapping",
        str(csv / "force-mapping.yaml"),
        "--as-of",
        "2025-02-01T00:00:00+00:00",
    )
    widths = look(browser, html, "fixtures")
    assert widths[1280] <= 1280
    assert widths[400] <= 400, "no sideways scrolling on a phone"
    pages, sizes = printed(browser, html, "fixtures")
    assert 2 <= pages <= 10
    assert all(abs(w - A4[0]) < 1 and abs(h - A4[1]) < 1 for w, h in sizes), f"A4, not {sizes[0]}"


@pytest.mark.slow
def test_20000_incident_report_prints_to_a_few_pages(browser: Any, tmp_path: Path) -> None:
    batch = tmp_path / "b.jsonl"
    subprocess.run(
        [sys.executable, "-m", "bench.generate", "--count", "20000", "--seed", "7", "--out", str(batch)],
        cwd=ROOT,
        check=True,
    )
    html = audit(tmp_path / "r", str(batch), "--as-of", "2025-12-01T00:00:00+00:00")
    widths = look(browser, html, "20k")
    assert widths[400] <= 400, "no sideways scrolling on a phone"
    pages, sizes = printed(browser, html, "20k")
    assert pages <= MAX_PAGES_20K, f"{pages} pages"
    assert all(abs(w - A4[0]) < 1 and abs(h - A4[1]) < 1 for w, h in sizes)
