"""The feedback reports of real transcripts (a PriMock57 consultation, a counselling dialogue, a
QMSum meeting), scored by the shipped model, open in headless Chromium with no console error and
no request leaving the file, fit a phone's width, and photograph as something (not blank).

Chromium is Debian's ``chromium`` package (``.ci/run`` installs it when missing); without it the
test skips, unless ``COMPASSION_NLP_REQUIRE_BROWSER=1`` (set by ``.ci/run``) makes that a
failure.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

from .helpers import REPO

sys.path.insert(0, str(REPO / "evaluation" / "reports"))
import screenshots  # noqa: E402


@pytest.fixture(scope="module")
def browser_ready() -> None:
    missing = [what for what, ok in (
        ("chromium", screenshots.chromium() is not None),
        ("playwright", importlib.util.find_spec("playwright") is not None)) if not ok]
    if missing:
        if os.environ.get("COMPASSION_NLP_REQUIRE_BROWSER") == "1":
            pytest.fail(f"the browser test needs {' and '.join(missing)}")
        pytest.skip(f"no {' and '.join(missing)} on this machine")


def test_real_reports_open_cleanly_in_a_browser(
    browser_ready: None, shared_data: Path, shipped_model: Path, tmp_path: Path
) -> None:
    reports = tmp_path / "reports"
    screenshots.score_samples(shared_data, tmp_path, reports=reports)
    pages = sorted(reports.rglob("*.html"))
    kinds = {p.parent.name for p in pages}
    assert {"encounters", "people", "reports"} <= kinds
    assert len(list((reports / "encounters").glob("*.html"))) == 3
    for width in (1280, 390):
        for path, seen in screenshots.visit(pages, width=width).items():
            name = f"{path.relative_to(reports)} at {width} px"
            assert not seen.console_errors, (name, seen.console_errors)
            assert all(url.startswith(("file://", "data:")) for url in seen.requests), name
            assert seen.overflow_px <= 0, f"{name} scrolls sideways by {seen.overflow_px} px"
            values, commonest = screenshots.png_variety(seen.screenshot)
            assert values > 20 and commonest < 0.98, f"{name} looks blank"
            (tmp_path / f"{path.stem}-{width}.png").write_bytes(seen.screenshot)
