"""The supervisor of `fraudstream up`, on real (tiny) child processes."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from fraudstream.config import Settings
from fraudstream.errors import LocalStackError
from fraudstream.local.process import ProcessSpec, free_port, port_open
from fraudstream.local.stack import (
    Component,
    Supervisor,
    order,
    pid_alive,
    read_state,
    state_file,
    stop_stack,
)

pytestmark = pytest.mark.unit


def http_server(tmp: Path, name: str) -> Component:
    port = free_port()

    def build(settings: Settings) -> ProcessSpec:
        return ProcessSpec(
            name=name,
            argv=[sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
            log_file=tmp / f"{name}.log",
            probe=lambda: port_open("127.0.0.1", port),
            address=f"127.0.0.1:{port}",
            ready_timeout=20,
        )

    return Component(name, build)


def job(tmp: Path, name: str, code: int, depends_on: tuple[str, ...] = ()) -> Component:
    def build(settings: Settings) -> ProcessSpec:
        return ProcessSpec(
            name=name,
            argv=[sys.executable, "-c", f"import sys; print('job'); sys.exit({code})"],
            log_file=tmp / f"{name}.log",
            probe=lambda: False,
            address="-",
        )

    return Component(name, build, depends_on=depends_on, oneshot=True)


def test_order_follows_dependencies_and_refuses_cycles(tmp_path: Path) -> None:
    a = job(tmp_path, "a", 0, depends_on=("b",))
    b = job(tmp_path, "b", 0)
    assert [c.name for c in order([a, b])] == ["b", "a"]
    with pytest.raises(LocalStackError, match="cycle"):
        order([job(tmp_path, "a", 0, ("b",)), job(tmp_path, "b", 0, ("a",))])
    with pytest.raises(LocalStackError, match="unknown component"):
        order([job(tmp_path, "a", 0, ("zzz",))])


def test_failed_oneshot_stops_the_start_with_its_log(tmp_path: Path) -> None:
    sup = Supervisor(Settings(home=tmp_path), [job(tmp_path, "train", 3)])
    with pytest.raises(LocalStackError, match="train failed with exit code 3") as info:
        sup.start_all()
    assert "job" in str(info.value)
    sup.stop_all()


def test_crashed_server_is_restarted_and_everything_stops(tmp_path: Path) -> None:
    events: list[str] = []
    server = http_server(tmp_path, "web")
    sup = Supervisor(
        Settings(home=tmp_path),
        [server, job(tmp_path, "init", 0, depends_on=("web",))],
        backoff_base=0.1,
        on_event=events.append,
    )
    thread = threading.Thread(target=sup.run)
    thread.start()
    try:
        first = _wait_pid(tmp_path, "web")
        deadline = time.monotonic() + 30
        while (read_state(Settings(home=tmp_path)) or {})["components"]["init"]["health"] != "done":
            assert time.monotonic() < deadline, "the job after web never ran"
            time.sleep(0.1)
        state = read_state(Settings(home=tmp_path))
        assert state is not None
        assert state["components"]["init"]["health"] == "done"
        sup._running["web"].process.kill()  # a crash
        second = _wait_pid(tmp_path, "web", not_pid=first)
        assert second != first
        assert any("restart 1" in e for e in events)
    finally:
        sup._ask_stop()
        thread.join(30)
    assert not pid_alive(second)
    final = read_state(Settings(home=tmp_path))
    assert final is not None
    assert final["supervisor_pid"] is None
    assert final["components"]["web"]["health"] == "stopped"


def test_stop_stack_kills_what_a_dead_supervisor_left(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    sup = Supervisor(settings, [http_server(tmp_path, "web")])
    sup.start_all()
    pid = sup._running["web"].process.pid
    assert pid is not None
    # the supervisor died without stopping its children (SIGKILL): a dead pid in its place
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    state = json.loads(state_file(settings).read_text())
    state["supervisor_pid"] = int(gone.stdout)
    state_file(settings).write_text(json.dumps(state))
    notes = stop_stack(settings, timeout=1)
    assert notes == [f"web ({pid}) was left running: killed"]
    sup._running["web"].process.stop()
    assert not pid_alive(pid)


def _wait_pid(home: Path, name: str, not_pid: int | None = None) -> int:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        state = read_state(Settings(home=home)) or {}
        comp = state.get("components", {}).get(name, {})
        pid = comp.get("pid")
        if comp.get("health") == "ready" and pid and pid != not_pid:
            return int(pid)
        time.sleep(0.1)
    raise AssertionError(f"{name} never became ready")
