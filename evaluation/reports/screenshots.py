"""Render the feedback reports of three real transcripts and photograph them in headless
Chromium, for the README (``evaluation/reports/*.png``) and for the browser test.

The transcripts: a PriMock57 consultation (CC BY 4.0), a physical-activity counselling dialogue
(Apache-2.0) and a QMSum/ICSI meeting (MIT / CC BY 4.0), scored with the shipped model.

Usage:
    python evaluation/reports/screenshots.py [--shared ../shared/data] [--out evaluation/reports]
"""

from __future__ import annotations

import argparse
import shutil
import struct
import tempfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
#: (folder under the scoring root, path under ../shared/data/transcripts)
TRANSCRIPTS: tuple[tuple[str, str], ...] = (
    ("consultations", "primock57/textgrid/day1_consultation01_doctor.TextGrid"),
    ("consultations", "primock57/textgrid/day1_consultation01_patient.TextGrid"),
    ("counselling", "physical_activity_counseling/simulated_dialog/relapse3.xlsx"),
    ("meetings", "qmsum/val/Bed002.json"),
)
#: the pages photographed: (file under the report folder, screenshot name)
PAGES: tuple[tuple[str, str], ...] = (
    ("encounters/consultations__day1_consultation01.html", "encounter.png"),
    ("encounters/meetings__Bed002.json.html", "meeting.png"),
    ("people/Professor_C.html", "person.png"),
    ("index.html", "cohort.png"),
)
CHROMIUMS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def chromium() -> str | None:
    """The path of a Chromium or Chrome on this machine, if any."""
    return next((p for name in CHROMIUMS if (p := shutil.which(name))), None)


def score_samples(shared: Path, work: Path, *, reports: Path) -> Path:
    """Copy the sample transcripts under ``work``, score them with the shipped model and
    write the reports into ``reports``; returns the results folder."""
    from compassion_nlp.outputs import score_to_folder
    from compassion_nlp.reports import write_reports
    from compassion_nlp.scoring import load

    for folder, name in TRANSCRIPTS:
        (work / "in" / folder).mkdir(parents=True, exist_ok=True)
        shutil.copy(shared / "transcripts" / name, work / "in" / folder)
    results = work / "results"
    score_to_folder(load(), [work / "in"], results, checkpoint_every_s=0)
    write_reports(results, reports)
    return results


@dataclass
class Visit:
    """What a page did in the browser."""

    console_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    overflow_px: int = 0
    screenshot: bytes = b""


def visit(pages: list[Path], *, width: int = 1280, height: int = 900,
          shots: Path | None = None) -> dict[Path, Visit]:
    """Open each page in headless Chromium (through Playwright): console errors, every
    request made, horizontal overflow at ``width``, and a full-page screenshot."""
    from playwright.sync_api import sync_playwright

    out: dict[Path, Visit] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=["--no-sandbox"])
        try:
            for path in pages:
                seen = Visit()
                page = browser.new_page(viewport={"width": width, "height": height})
                page.on("console", lambda m, s=seen: m.type == "error"
                        and s.console_errors.append(m.text))
                page.on("pageerror", lambda e, s=seen: s.console_errors.append(str(e)))
                page.on("request", lambda r, s=seen: s.requests.append(r.url))
                page.goto(path.resolve().as_uri(), wait_until="load")
                seen.overflow_px = page.evaluate(
                    "document.documentElement.scrollWidth - window.innerWidth")
                seen.screenshot = page.screenshot(full_page=shots is None)
                out[path] = seen
                page.close()
        finally:
            browser.close()
    return out


def png_variety(png: bytes) -> tuple[int, float]:
    """(distinct byte values, share of the commonest) of a PNG's pixel data: a blank page
    has a handful of values, nearly all one."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, data = 8, b""
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos:pos + 4])
        kind = png[pos + 4:pos + 8]
        if kind == b"IDAT":
            data += png[pos + 8:pos + 8 + length]
        pos += 12 + length
    raw = zlib.decompress(data)
    counts = [0] * 256
    for b in raw[::7]:  # a sample is enough
        counts[b] += 1
    return sum(1 for c in counts if c), max(counts) / max(sum(counts), 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=HERE)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        reports = Path(tmp) / "reports"
        score_samples(args.shared, Path(tmp), reports=reports)
        pages = [reports / page for page, _ in PAGES]
        shots = visit(pages, height=1100, shots=args.out)
        for (_, name), page in zip(PAGES, pages, strict=True):
            (args.out / name).write_bytes(shots[page].screenshot)
            print(f"{args.out / name}: {len(shots[page].screenshot):,} bytes")


if __name__ == "__main__":
    main()
