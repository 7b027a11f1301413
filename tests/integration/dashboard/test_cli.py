"""``fraudstream dashboard``: a real Streamlit server on the chosen port, or one readable line."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import httpx
import psutil
import pytest

from fixtures.dashboard import Seeded
from fraudstream.local.process import ProcessSpec, free_port, running

pytestmark = pytest.mark.integration


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/_stcore/health", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def test_the_command_serves_the_app_on_the_port(
    seeded: Seeded, reader_url: str, tmp_path: Path
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    spec = ProcessSpec(
        name="dashboard",
        argv=[sys.executable, "-m", "fraudstream", "dashboard", "--port", str(port)],
        log_file=tmp_path / "dashboard.log",
        probe=lambda: _healthy(url),
        address=url,
        env={"FRAUD_DATABASE_READONLY_URL": reader_url},
        cwd=tmp_path,
        ready_timeout=90,
    )
    with running(spec) as process:
        page = httpx.get(f"{url}/flagged", timeout=10)
        assert page.status_code == 200
        assert "<noscript>" in page.text  # Streamlit's shell; the page itself comes by websocket
        # the command became Streamlit (same pid), so a stop signal reaches Streamlit itself
        assert process.pid is not None
        command = psutil.Process(process.pid).cmdline()
        assert command[1:4] == ["-m", "streamlit", "run"]
    log = (tmp_path / "dashboard.log").read_text()
    assert f"dashboard on http://127.0.0.1:{port}" in log


def test_a_port_in_use_is_one_line_that_says_what_to_do(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "fraudstream", "dashboard", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,
            check=False,
        )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "FRAUD_DASHBOARD_PORT" in lines[0]
    assert "Traceback" not in done.stderr
