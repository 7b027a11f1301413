"""An MLflow tracking server as a local process: the one of ``fraudstream up``, and the ones
the tests start (a PostgreSQL store with S3 artifacts, or a SQLite store with a folder)."""

from __future__ import annotations

import sys
from pathlib import Path

import httpx

from fraudstream.local.process import ProcessSpec


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


def mlflow_server_spec(
    backend_store: str,
    artifact_root: str,
    port: int,
    log_file: Path,
    env: dict[str, str] | None = None,
) -> ProcessSpec:
    """``mlflow server`` with one worker (measured: the default starts 15 processes and
    3.4 GB) and no job runner; clients write artifacts to ``artifact_root`` themselves."""
    url = f"http://127.0.0.1:{port}"
    return ProcessSpec(
        name="mlflow",
        argv=[
            sys.executable,
            "-m",
            "mlflow",
            "server",
            "--backend-store-uri",
            backend_store,
            "--default-artifact-root",
            artifact_root,
            "--no-serve-artifacts",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        log_file=log_file,
        probe=lambda: _answers(url + "/health"),
        address=url,
        env={"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false", **(env or {})},
        ready_timeout=120.0,
    )
