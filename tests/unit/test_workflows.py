"""The GitHub Actions workflows pass actionlint (syntax, expressions, contexts, shell)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]


def _actionlint() -> str | None:
    """On PATH, or where `go install` put it (scripts/system-deps.sh)."""
    found = shutil.which("actionlint")
    if found:
        return found
    gopath = Path(os.environ.get("GOPATH") or Path.home() / "go")
    candidate = gopath / "bin" / "actionlint"
    return str(candidate) if candidate.is_file() else None


def test_the_workflows_exist() -> None:
    names = {p.name for p in (ROOT / ".github" / "workflows").glob("*.yml")}
    assert "ci.yml" in names


@pytest.mark.skipif(_actionlint() is None, reason="actionlint is not installed (make system-deps)")
def test_the_workflows_pass_actionlint() -> None:
    done = subprocess.run(
        [str(_actionlint()), "-no-color"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.skipif(_actionlint() is None, reason="actionlint is not installed (make system-deps)")
def test_actionlint_refuses_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n"
        "    steps:\n      - run: echo ${{ runner.nope }}\n"
    )
    done = subprocess.run(
        [str(_actionlint()), "-no-color", str(broken)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "nope" in done.stdout
