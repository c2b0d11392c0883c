"""Shared fixtures. Conventions are in tests/README.md."""

from __future__ import annotations

from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).resolve().parents[1]
#: the shared corpora beside the repository; tests that need them skip when absent
SHARED = REPO.parent / "shared" / "data"


@pytest.fixture
def fixtures() -> Path:
    """The folder of small real sample files (each subfolder keeps its licence)."""
    return FIXTURES


@pytest.fixture
def shared_data() -> Path:
    """``../shared/data`` (the real corpora); skips the test when it is not there."""
    if not SHARED.is_dir():
        pytest.skip("../shared/data is not available")
    return SHARED
