"""The supervisor behind ``fraudstream up``: start the components in order, keep them alive.

Each :class:`Component` knows how to build its :class:`ProcessSpec` from the settings and what
it depends on. The supervisor starts them in order and waits for each to be ready, runs
one-shot jobs (the first training) to completion, restarts a crashed server with exponential
backoff, and stops everything in reverse order on SIGINT or SIGTERM. Its state (pids, addresses,
health) lives in ``<home>/stack.json``, which ``fraudstream status`` and ``down`` read.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from fraudstream.config import Settings
from fraudstream.errors import LocalStackError
from fraudstream.local.process import ManagedProcess, ProcessSpec

log = logging.getLogger(__name__)

Health = Literal["starting", "ready", "done", "restarting", "failed", "stopped"]


@dataclass(frozen=True)
class Component:
    """One part of the local stack."""

    name: str
    build: Callable[[Settings], ProcessSpec]
    depends_on: tuple[str, ...] = ()
    after_ready: Callable[[Settings], None] | None = None
    """Runs once the process is ready (create topics, apply migrations)."""
    oneshot: bool = False
    """A job that runs to completion (exit 0) before its dependents start."""
    skip: Callable[[Settings], str | None] = lambda _settings: None
    """Returns why the component is not started here (e.g. an external server is configured)."""


@dataclass
class _Running:
    component: Component
    process: ManagedProcess
    health: Health = "starting"
    restarts: int = 0
    next_start: float = 0.0
    last_exit: int | None = None
    note: str = ""


def state_file(settings: Settings) -> Path:
    return settings.home / "stack.json"


def logs_dir(settings: Settings) -> Path:
    return settings.home / "logs"


def read_state(settings: Settings) -> dict[str, Any] | None:
    """The supervisor's last published state, or None when no stack was started here."""
    try:
        data: dict[str, Any] = json.loads(state_file(settings).read_text())
    except (OSError, ValueError):
        return None
    return data


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def order(components: Sequence[Component]) -> list[Component]:
    """Dependency order; a cycle or an unknown dependency is a LocalStackError."""
    by_name = {c.name: c for c in components}
    done: list[Component] = []
    seen: set[str] = set()

    def visit(c: Component, path: tuple[str, ...]) -> None:
        if c.name in seen:
            return
        if c.name in path:
            raise LocalStackError("dependency cycle: " + " -> ".join((*path, c.name)))
        for dep in c.depends_on:
            if dep not in by_name:
                raise LocalStackError(f"{c.name} depends on unknown component {dep}")
            visit(by_name[dep], (*path, c.name))
        seen.add(c.name)
        done.append(c)

    for c in components:
        visit(c, ())
    return done


@dataclass
class Supervisor:
    """Runs components until asked to stop; publishes their health to ``stack.json``."""

    settings: Settings
    components: Sequence[Component]
    backoff_base: float = 1.0
    backoff_max: float = 30.0
    on_event: Callable[[str], None] = field(default=log.info)
    _running: dict[str, _Running] = field(default_factory=dict)
    _skipped: dict[str, str] = field(default_factory=dict)
    _stopping: bool = False

    def run(self, ready: Callable[[Supervisor], None] | None = None) -> None:
        """Start everything, call ``ready`` once, then watch until SIGINT/SIGTERM."""
        previous = {}
        if threading.current_thread() is threading.main_thread():
            previous = {
                s: signal.signal(s, self._ask_stop) for s in (signal.SIGINT, signal.SIGTERM)
            }
        try:
            self.start_all()
            if ready is not None and not self._stopping:
                ready(self)
            while not self._stopping:
                self.watch_once()
                time.sleep(0.5)
        finally:
            self.stop_all()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _ask_stop(self, *_: object) -> None:
        self._stopping = True

    def start_all(self) -> None:
        self.settings.home.mkdir(parents=True, exist_ok=True)
        self._publish()  # every component listed from the start, as waiting
        for component in order(self.components):
            if self._stopping:
                return
            reason = component.skip(self.settings)
            if reason:
                self._skipped[component.name] = reason
                self.on_event(f"{component.name}: not started ({reason})")
                continue
            self._start(component)
            self._publish()

    def _start(self, component: Component) -> None:
        spec = component.build(self.settings)
        state = self._running.get(component.name)
        if state is None:
            state = _Running(component, ManagedProcess(spec))
            self._running[component.name] = state
        else:
            state.process = ManagedProcess(spec)
        self.on_event(f"{component.name}: starting")
        state.process.start()
        try:
            if component.oneshot:
                code = self._wait_exit(state.process)
                if code != 0:
                    raise LocalStackError(
                        f"{component.name} failed with exit code {code}; last lines of "
                        f"{spec.log_file}:\n{state.process.log_tail()}"
                    )
                state.health = "done"
            else:
                state.process.wait_ready()
                if component.after_ready is not None:
                    component.after_ready(self.settings)
                state.health = "ready"
        except LocalStackError:
            state.health = "failed"
            self._publish()
            raise
        self.on_event(f"{component.name}: {state.health} at {spec.address}")

    def _wait_exit(self, process: ManagedProcess) -> int | None:
        while process.alive():
            if self._stopping:
                process.stop()
                return None
            time.sleep(0.3)
        return process.stop()

    def watch_once(self) -> None:
        """Restart any server that died, with exponential backoff; publish health."""
        now = time.monotonic()
        for state in self._running.values():
            if state.component.oneshot or state.process.alive():
                continue
            if state.health != "restarting":
                state.last_exit = state.process.stop()
                state.restarts += 1
                delay = min(self.backoff_max, self.backoff_base * 2 ** (state.restarts - 1))
                state.next_start = now + delay
                state.health = "restarting"
                self.on_event(
                    f"{state.component.name}: exited with code {state.last_exit}; "
                    f"restart {state.restarts} in {delay:.0f} s"
                )
            elif now >= state.next_start:
                try:
                    self._start(state.component)
                except LocalStackError as exc:
                    state.note = str(exc).splitlines()[0]
                    self.on_event(f"{state.component.name}: restart failed: {state.note}")
                    state.health = "restarting"
                    state.next_start = now + self.backoff_max
        self._publish()

    def stop_all(self) -> None:
        for state in reversed(list(self._running.values())):
            if state.process.alive():
                self.on_event(f"{state.component.name}: stopping")
                state.process.stop()
            state.health = "stopped" if state.health != "done" else "done"
        self._publish(final=True)

    def _publish(self, *, final: bool = False) -> None:
        components = {}
        for name, state in self._running.items():
            components[name] = {
                "health": state.health,
                "pid": state.process.pid if state.process.alive() else None,
                "address": state.process.spec.address,
                "log": str(state.process.spec.log_file),
                "restarts": state.restarts,
                "note": state.note,
            }
        for name, reason in self._skipped.items():
            components[name] = {"health": "external", "note": reason}
        for component in self.components:
            components.setdefault(component.name, {"health": "waiting"})
        data = {
            "supervisor_pid": None if final else os.getpid(),
            "updated_at": time.time(),
            "components": components,
        }
        path = state_file(self.settings)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2))
        tmp.replace(path)


def stop_stack(settings: Settings, timeout: float = 60.0) -> list[str]:
    """Ask a running supervisor to stop and wait for it; kill leftovers it did not stop."""
    state = read_state(settings)
    if state is None:
        return []
    notes: list[str] = []
    pid = state.get("supervisor_pid")
    if pid and pid_alive(pid):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        if pid_alive(pid):
            os.kill(pid, signal.SIGKILL)
            notes.append(f"supervisor {pid} did not stop in {timeout:.0f} s: killed")
    for name, comp in _components(state):
        cpid = comp.get("pid")
        if cpid and pid_alive(cpid):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(cpid, signal.SIGKILL)
            notes.append(f"{name} ({cpid}) was left running: killed")
    return notes


def _components(state: dict[str, Any]) -> Iterable[tuple[str, dict[str, Any]]]:
    comps = state.get("components", {})
    return comps.items() if isinstance(comps, dict) else []
