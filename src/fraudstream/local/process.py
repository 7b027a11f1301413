"""One local server process: how to start it, how to know it is ready, how to stop it.

Every component of the local stack (Kafka, PostgreSQL, MLflow, the model service...) is
described by a :class:`ProcessSpec`. The same spec serves the test fixtures, which start a
server for a test session, and the supervisor of ``fraudstream up``, which keeps many of them
alive and restarts the ones that crash.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from fraudstream.errors import LocalStackError

Probe = Callable[[], bool]
"""Answers True once the server serves; must return quickly and never raise."""


@dataclass(frozen=True)
class ProcessSpec:
    """A server process as the stack runs it: in the foreground, logs to one file."""

    name: str
    argv: Sequence[str]
    log_file: Path
    probe: Probe
    address: str
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    user: str | None = None
    """Run as this user (PostgreSQL refuses root); None keeps the current user."""
    ready_timeout: float = 60.0
    stop_timeout: float = 15.0
    stop_signal: signal.Signals = signal.SIGTERM
    """The signal of a clean stop (PostgreSQL: SIGINT; its SIGTERM waits for every client)."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    """True when something accepts TCP connections at host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _demote(user: str) -> Callable[[], None]:
    import pwd

    record = pwd.getpwnam(user)

    def switch() -> None:
        os.setgid(record.pw_gid)
        os.initgroups(user, record.pw_gid)
        os.setuid(record.pw_uid)

    return switch


class ManagedProcess:
    """A running :class:`ProcessSpec`: start, wait until ready, stop; usable as a context."""

    def __init__(self, spec: ProcessSpec) -> None:
        self.spec = spec
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        """Launch the process in its own session (so a signal reaches its children too)."""
        if self.alive():
            return
        spec = self.spec
        spec.log_file.parent.mkdir(parents=True, exist_ok=True)
        self._log = spec.log_file.open("ab")
        env = {**os.environ, **spec.env}
        demote = _demote(spec.user) if spec.user and os.geteuid() == 0 else None
        try:
            self._proc = subprocess.Popen(
                list(spec.argv),
                stdout=self._log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                cwd=spec.cwd,
                start_new_session=True,
                preexec_fn=demote,
            )
        except OSError as exc:
            raise LocalStackError(f"{spec.name}: cannot start {spec.argv[0]}: {exc}") from exc

    def wait_ready(self, timeout: float | None = None) -> None:
        """Block until the probe answers; fail early, with the log's tail, if the process dies."""
        deadline = time.monotonic() + (timeout or self.spec.ready_timeout)
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                raise LocalStackError(
                    f"{self.spec.name} exited with code {self._proc.returncode} before it was "
                    f"ready; last lines of {self.spec.log_file}:\n{self.log_tail()}"
                )
            if self.spec.probe():
                return
            time.sleep(0.2)
        raise LocalStackError(
            f"{self.spec.name} was not ready at {self.spec.address} within "
            f"{timeout or self.spec.ready_timeout:.0f} s; see {self.spec.log_file}"
        )

    def stop(self, timeout: float | None = None) -> int | None:
        """The spec's stop signal, then SIGKILL after the timeout; returns the exit code."""
        proc = self._proc
        if proc is None:
            return None
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, self.spec.stop_signal)
            try:
                proc.wait(timeout or self.spec.stop_timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        if self._log:
            self._log.close()
            self._log = None
        return proc.returncode

    def kill(self) -> None:
        """SIGKILL the whole process group: the crash that fault tests inject."""
        if self._proc is not None and self._proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._proc.pid, signal.SIGKILL)
            self._proc.wait()

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.spec.log_file.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def __enter__(self) -> ManagedProcess:
        self.start()
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def running(spec: ProcessSpec) -> Iterator[ManagedProcess]:
    """Start a spec, wait until it is ready, and stop it at the end of the block."""
    with ManagedProcess(spec) as proc:
        yield proc
