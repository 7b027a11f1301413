"""The screenshot script, run for one page: a real headless Chromium, a real picture."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "screenshots.py"


BROWSERS = (os.environ.get("CHROMIUM") or "chromium", "chromium-browser")


@pytest.mark.skipif(
    not any(shutil.which(name) for name in BROWSERS),
    reason="Debian's chromium is not installed (scripts/system-deps.sh installs it)",
)
def test_the_script_photographs_a_rendered_page(postgres_url: str, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--pages", "flagged", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "FRAUD_TEST_DATABASE_URL": postgres_url},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    picture = tmp_path / "flagged.png"
    assert picture.stat().st_size > 20_000
    with Image.open(picture) as image:
        assert image.size[0] == 1400
        assert image.size[1] >= 1000
        colours = image.convert("RGB").getcolors(maxcolors=1 << 16)
    assert colours is None or len(colours) > 200  # text, a table, a map and a chart
