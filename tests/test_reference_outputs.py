"""Every table, report and run summary stays byte-identical to the stored reference outputs.

``tests/fixtures/reference/`` was written before the pipeline refactor (issue 8) from every
fixture transcript with :class:`tests.helpers.HashClassifier` (no model: the same numbers on
every machine). A change that alters an output byte must regenerate the reference on purpose
(``python -m tests.helpers``) and say why in its commit.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .helpers import REFERENCE, write_reference

REPO = Path(__file__).resolve().parents[1]


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_outputs_are_byte_identical_to_the_reference(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO)  # sources are named relative to the repository in the outputs
    write_reference(tmp_path / "now")
    expected, got = _files(REFERENCE), _files(tmp_path / "now")
    assert sorted(got) == sorted(expected)
    different = [name for name in expected if got[name] != expected[name]]
    assert not different, f"outputs differ from the reference: {different[:10]}"
