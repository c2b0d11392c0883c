"""Project wiring: CI runs the README's test command; the CLI and module entry points work."""

from __future__ import annotations

import re
import subprocess
import sys

from .helpers import REPO


def test_ci_runs_the_readme_test_command() -> None:
    readme = (REPO / "README.md").read_text()
    commands = re.findall(r"```bash\n(pip install [^\n]+)\n```", readme)
    assert len(commands) >= 2, "the README must show the two set-up commands"
    install, test = commands[0], commands[1]
    assert "torch==2.13.0" in install and "compassion-nlp score data/examples" in install
    assert "[dev]" in test and test.endswith("pytest")
    ci = (REPO / ".ci" / "run").read_text()
    assert f"\n{test}\n" in ci


def test_python_m_entry_point() -> None:
    out = subprocess.run([sys.executable, "-m", "compassion_nlp", "--help"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0
    for command in ("read", "score", "train"):
        assert command in out.stdout


def test_no_args_shows_help() -> None:
    from typer.testing import CliRunner

    from compassion_nlp.cli import app

    result = CliRunner().invoke(app, [])
    assert "Usage" in result.output and "score" in result.output
