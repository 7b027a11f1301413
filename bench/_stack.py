"""Real components for the benchmarks that need more than one: a registered model, the model
service as a process, the stream workers as processes. Each benchmark gets its own state folder.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from fraudstream.config import Settings
from fraudstream.local.components import settings_env
from fraudstream.local.process import free_port
from fraudstream.sources import read_frame
from fraudstream.trainer.pipeline import train
from fraudstream.trainer.tracking import log_run


def registered_model(home: Path, rows: int = 60_000, **fields: object) -> Settings:
    """Train a small real model on simulated rows and register it as champion in an MLflow
    store of its own (SQLite + artifact folder under ``home``)."""
    settings = Settings(
        _env_file=None,
        home=home,
        mlflow_tracking_uri=f"sqlite:///{home / 'mlflow.db'}",
        mlflow_artifact_root=str(home / "artifacts"),
        train_search_seconds=0,
        **fields,
    )
    source = f"sim://?rows={rows}&seed=3"
    result = train(read_frame(source, settings), settings, source=source, workdir=home / "train")
    log_run(result, settings, register_as="champion")
    return settings


class Process:
    """A child process logging to a file; :meth:`fraudstream` starts ``fraudstream <args>``."""

    def __init__(self, argv: list[str], log: Path, env: dict[str, str]) -> None:
        self.log = log
        self._out = log.open("ab")
        self.proc = subprocess.Popen(
            argv, env={**os.environ, **env}, stdout=self._out, stderr=subprocess.STDOUT
        )

    @classmethod
    def fraudstream(cls, settings: Settings, log: Path, *args: str, **env: str) -> Process:
        """``fraudstream <args>`` with the settings in its environment."""
        argv = [sys.executable, "-m", "fraudstream", *args]
        return cls(argv, log, {**settings_env(settings), **env})

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._out.close()


def start_service(settings: Settings, log: Path) -> tuple[Process, str]:
    """The model service on a free port, ready (champion loaded); returns it and its URL."""
    port = free_port()
    service = Process.fraudstream(settings, log, "serve", FRAUD_SERVICE_PORT=str(port))
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if service.proc.poll() is not None:
            raise RuntimeError(f"model service exited; see {log}")
        try:
            if httpx.get(url + "/readyz", timeout=1).status_code == 200:
                return service, url
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"model service not ready; see {log}")
