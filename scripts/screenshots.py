"""Screenshots of every dashboard page, taken by a real headless Chromium.

    .venv/bin/python scripts/screenshots.py                    # all pages into docs/screenshots
    .venv/bin/python scripts/screenshots.py --pages flagged --out /tmp/shots
    .venv/bin/python scripts/screenshots.py --dashboard http://127.0.0.1:8501 --out /tmp/live

It starts a PostgreSQL (the project's own launcher in a temp folder, or the server of
``--database-url``, a login that may create databases), creates a database, migrates and seeds
it with the tests' dashboard data (``tests/fixtures/dashboard.py``: an hour of a small stack),
trains a small real model into a registry (champion and challenger) when the Models page is
asked for, runs ``fraudstream dashboard`` against it as a read-only login with a users file of
one admin it makes up, and points Debian's headless ``chromium`` at each page (over its DevTools
protocol, to wait until Streamlit has finished drawing), signing in through the page's own
sign-in form (:meth:`Tab.sign_in`, reusable by a browser test). A picture of nearly one colour
(a blank page) is a failure. Exit code 0 only when every page gave a real picture. Everything it
started is stopped, and its database dropped, at the end. ``--dashboard URL`` shoots a running
dashboard as it is instead (the live one of ``fraudstream up``), seeding nothing, signed in as
``--user`` (the password is asked for).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import getpass
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
from PIL import Image
from psycopg import sql

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the seed data is the tests' fixture

from fixtures.dashboard import reader_role, seed_dashboard  # noqa: E402
from fixtures.postgres import with_database  # noqa: E402
from fraudstream.config import Settings  # noqa: E402
from fraudstream.dashboard.auth import WRONG  # noqa: E402
from fraudstream.dashboard.roles import Role  # noqa: E402
from fraudstream.dashboard.users_file import UsersFile, new_password  # noqa: E402
from fraudstream.local.postgres import admin_url, postgres_spec  # noqa: E402
from fraudstream.local.process import ProcessSpec, free_port, running  # noqa: E402
from fraudstream.storage.migrate import apply_migrations  # noqa: E402

PAGES = {
    "sign_in": "",
    "live": "",
    "flagged": "flagged",
    "models": "models",
    "drift": "drift",
    "dead_letters": "dead_letters",
}
"""Page name -> URL path under the dashboard (the first page is the root). Every page but the
sign-in page is shot signed in, through the sign-in form of the page's own address."""
SIGNED_OUT = {"sign_in"}
WINDOW = "1400,1000"
MIN_COLOURS = 64
"""A rendered page has text, charts and anti-aliasing; a blank one has a handful of colours."""


class ScreenshotError(RuntimeError):
    """A page could not be photographed; the message says which and why."""


def chromium() -> str:
    """Debian's chromium, or the browser that ``CHROMIUM`` names (CI runners ship Chrome)."""
    for name in (os.environ.get("CHROMIUM", ""), "chromium", "chromium-browser"):
        if not name:
            continue
        found = shutil.which(name)
        if found:
            return found
    raise ScreenshotError("chromium is not installed: apt-get install -y chromium")


def distinct_colours(path: Path) -> int:
    """How many colours the picture uses (capped; enough to tell a page from a blank)."""
    with Image.open(path) as image:
        colours = image.convert("RGB").getcolors(maxcolors=1 << 16)
    return 1 << 16 if colours is None else len(colours)


# Streamlit is done drawing when its status widget ("Running...", "Stop") is gone, the page
# title is there, and the page stops changing; charts then need a moment to paint.
_SETTLED = """
(() => {
  const running = document.querySelector('[data-testid="stStatusWidget"]');
  const title = document.querySelector('[data-testid="stMain"] h1');
  const spinners = document.querySelectorAll('[data-testid="stSkeleton"], .stSpinner').length;
  return JSON.stringify({
    done: !running && !!title && spinners === 0,
    size: document.body.innerHTML.length,
  });
})()
"""


_SIGN_IN_STATE = """
(() => JSON.stringify({
  form: !!document.querySelector('input[type="password"]'),
  alerts: [...document.querySelectorAll('[data-testid="stAlert"]')].map(a => a.innerText).join(" "),
}))()
"""


_CONTENT_HEIGHT = """
(() => {
  const main = document.querySelector('[data-testid="stMain"]');
  return main ? main.scrollHeight : document.body.scrollHeight;
})()
"""
MAX_HEIGHT = 4000


class Tab:
    """One tab of :class:`Browser`, driven over its DevTools websocket: open a page, wait until
    Streamlit has finished its run, sign in, take the picture."""

    def __init__(self, ws: Any, size: tuple[int, int]) -> None:
        self._ws = ws
        self.size = size
        self._id = 0

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        """One DevTools command; its result."""
        self._id += 1
        self._ws.send(json.dumps({"id": self._id, "method": method, "params": params}))
        while True:
            message = json.loads(self._ws.recv(timeout=60))
            if message.get("id") == self._id:
                if "error" in message:
                    raise ScreenshotError(f"{method}: {message['error']}")
                return dict(message.get("result", {}))

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page."""
        return self.call("Runtime.evaluate", expression=expression)["result"].get("value")

    def open(self, url: str, timeout: float = 60.0) -> None:
        """Load ``url`` and wait until Streamlit's run settled."""
        self.call("Page.navigate", url=url)
        self.settle(url, timeout)

    def settle(self, what: str, timeout: float = 60.0) -> None:
        """Wait for three equal looks, 0.5 s apart, after the run ended."""
        started = time.monotonic()
        stable, last_size = 0, -1
        while stable < 3:
            if time.monotonic() - started > timeout:
                raise ScreenshotError(f"{what}: Streamlit did not finish within {timeout} s")
            time.sleep(0.5)
            state = json.loads(self.evaluate(_SETTLED))
            stable = stable + 1 if state["done"] and state["size"] == last_size else 0
            last_size = state["size"]

    def sign_in(self, name: str, password: str, timeout: float = 60.0) -> None:
        """Sign in through the dashboard's own form, as a person would (the page shown must be
        the sign-in page); returns once the page behind it has settled."""
        for label, text in (("User name", name), ("Password", password)):
            field = f'[data-testid="stForm"] input[aria-label="{label}"]'
            if not self.evaluate(
                f"(() => {{ const f = document.querySelector('{field}'); "
                "if (f) { f.focus(); f.select(); } return !!f; })()"
            ):
                raise ScreenshotError(f"no {label!r} field: is this the sign-in page?")
            self.call("Input.insertText", text=text)  # typed: React sees real input events
        self.evaluate(
            "document.querySelector('[data-testid=\"stFormSubmitButton\"] button').click()"
        )
        deadline = time.monotonic() + timeout
        while True:
            time.sleep(0.3)
            state = json.loads(self.evaluate(_SIGN_IN_STATE))
            if not state["form"]:
                break
            if WRONG in state["alerts"] or time.monotonic() > deadline:
                raise ScreenshotError(
                    f"signing in as {name} failed: {state['alerts'] or 'no answer'}"
                )
        self.settle(f"the page after signing in as {name}", timeout)

    def picture(self, out: Path) -> None:
        """The whole page as a PNG, not only the first screen: the window grows to the content."""
        height = min(MAX_HEIGHT, max(self.size[1], int(self.evaluate(_CONTENT_HEIGHT))))
        self.resize(height)
        time.sleep(2.0)  # charts (Vega, deck.gl) paint after the DOM settles
        shot = self.call("Page.captureScreenshot", format="png")
        out.write_bytes(base64.b64decode(shot["data"]))

    def resize(self, height: int) -> None:
        self.call(
            "Emulation.setDeviceMetricsOverride",
            width=self.size[0],
            height=height,
            deviceScaleFactor=1,
            mobile=False,
        )


class Browser:
    """Headless Chromium driven over its DevTools protocol (:class:`Tab`). (A plain
    ``--screenshot`` run gives up on a Streamlit page too early: the page draws from websocket
    messages, which do not hold back Chromium's notion of "loaded".)"""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.profile = Path(tempfile.mkdtemp(prefix="chromium-", dir=workdir))
        width, height = WINDOW.split(",")
        self.size = (int(width), int(height))
        self.process = subprocess.Popen(
            [
                chromium(),
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--hide-scrollbars",
                f"--user-data-dir={self.profile}",
                f"--window-size={WINDOW}",
                f"--remote-debugging-port={self.port}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def _page_socket(self) -> str:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                targets = httpx.get(f"http://127.0.0.1:{self.port}/json/list", timeout=2).json()
            except (httpx.HTTPError, ValueError):
                time.sleep(0.2)
                continue
            pages = [t for t in targets if t.get("type") == "page"]
            if pages:
                return str(pages[0]["webSocketDebuggerUrl"])
            time.sleep(0.2)
        raise ScreenshotError("chromium's DevTools endpoint did not answer within 30 s")

    @contextlib.contextmanager
    def tab(self) -> Iterator[Tab]:
        """The browser's tab, connected, at the window's size."""
        from websockets.sync.client import connect

        with connect(self._page_socket(), max_size=None) as ws:
            tab = Tab(ws, self.size)
            tab.call("Page.enable")
            tab.resize(self.size[1])
            yield tab

    def shoot(
        self,
        url: str,
        out: Path,
        timeout: float = 60.0,
        credentials: tuple[str, str] | None = None,
    ) -> float:
        """Load ``url``, sign in with ``credentials`` (name, password) when given, wait until
        the run settled, write a PNG; returns the seconds it took."""
        started = time.monotonic()
        with self.tab() as tab:
            tab.open(url, timeout)
            if credentials is not None:
                tab.sign_in(*credentials, timeout=timeout)
            tab.picture(out)
        return time.monotonic() - started


def users_file(workdir: Path, name: str = "admin", role: Role = "admin") -> tuple[Path, str]:
    """A dashboard users file of one user with a generated password (for
    FRAUD_DASHBOARD_USERS_FILE): its path and the password."""
    path = workdir / "dashboard-users.toml"
    password = new_password()
    UsersFile(path).create([(name, role, password)])
    return path, password


@contextlib.contextmanager
def server(database_url: str | None) -> Iterator[str]:
    """An admin URL of a PostgreSQL: the given one, or a local server for the run."""
    if database_url:
        yield database_url
        return
    folder = Path(tempfile.mkdtemp(prefix="fraudstream-pg-"))  # outside any 0700 temp root
    try:
        port = free_port()
        with running(postgres_spec(Settings(_env_file=None), folder / "postgres", port)):
            yield admin_url(port)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def seeded_database(admin: str) -> Iterator[str]:
    """A migrated, seeded database of this run; yields the URL of a read-only login on it."""
    name = f"dashboard_shots_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = with_database(admin, name)
    try:
        apply_migrations(url)
        seeded = seed_dashboard(url)
        print(f"seeded {len(seeded.verdicts)} verdicts, {len(seeded.flagged)} flagged")
        with reader_role(url) as reader:
            yield reader
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


def registry(workdir: Path) -> dict[str, str]:
    """A registry holding a real small model as champion (version 1) and challenger (2), for
    the Models page; its settings as FRAUD_* variables."""
    from fixtures.models import TRAIN_SOURCE, registry_settings_for
    from fraudstream.sources import read_frame
    from fraudstream.trainer.pipeline import train
    from fraudstream.trainer.tracking import log_run

    settings = registry_settings_for(workdir / "registry", train_search_seconds=0)
    frame = read_frame(TRAIN_SOURCE, settings)
    result = train(frame, settings, source=TRAIN_SOURCE, workdir=workdir)
    log_run(result, settings, register_as="champion")
    log_run(result, settings, register_as="challenger")
    print(f"registry with champion and challenger in {settings.registry.tracking_uri}")
    return {
        "FRAUD_MLFLOW_TRACKING_URI": settings.registry.tracking_uri,
        "FRAUD_MLFLOW_ARTIFACT_ROOT": settings.registry.artifact_root,
    }


def dashboard(
    reader_url: str, workdir: Path, users: Path, extra_env: dict[str, str]
) -> ProcessSpec:
    port = free_port()
    url = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        try:
            return httpx.get(f"{url}/_stcore/health", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    return ProcessSpec(
        name="dashboard",
        argv=[sys.executable, "-m", "fraudstream", "dashboard", "--port", str(port)],
        log_file=workdir / "dashboard.log",
        probe=healthy,
        address=url,
        env={
            "FRAUD_DATABASE_READONLY_URL": reader_url,
            "FRAUD_DASHBOARD_REFRESH_SECONDS": "0",  # a still picture: no timer keeps it busy
            "FRAUD_MLFLOW_TRACKING_URI": f"sqlite:///{workdir / 'no-registry.db'}",
            "FRAUD_DASHBOARD_USERS_FILE": str(users),
            **extra_env,
        },
        cwd=workdir,
        ready_timeout=90,
    )


def shoot_all(
    base_url: str, pages: list[str], out: Path, workdir: Path, credentials: tuple[str, str] | None
) -> None:
    browser = Browser(workdir)
    try:
        for page in pages:
            path = out / f"{page}.png"
            user = None if page in SIGNED_OUT else credentials
            waited = browser.shoot(f"{base_url}/{PAGES[page]}", path, credentials=user)
            colours = distinct_colours(path)
            if colours < MIN_COLOURS:
                raise ScreenshotError(f"{path}: only {colours} colours: a blank page?")
            print(f"{path}: {path.stat().st_size // 1024} KiB, {colours} colours, {waited:.1f} s")
    finally:
        browser.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--pages", default=",".join(PAGES), help="Comma-separated page names.")
    parser.add_argument("--database-url", default=os.environ.get("FRAUD_TEST_DATABASE_URL"))
    parser.add_argument(
        "--dashboard",
        help="A running dashboard's URL (e.g. http://127.0.0.1:8501 of `fraudstream up`): "
        "shoot its pages as they are, with no seeded database",
    )
    parser.add_argument(
        "--user", help="With --dashboard: the user to sign in as (the password is asked for)"
    )
    args = parser.parse_args(argv)
    pages = [p.strip() for p in args.pages.split(",") if p.strip()]
    unknown = sorted(set(pages) - set(PAGES))
    if unknown:
        parser.error(f"unknown page(s) {', '.join(unknown)}; choose from {', '.join(PAGES)}")
    if args.dashboard and set(pages) - SIGNED_OUT and not args.user:
        parser.error("--dashboard needs --user to sign in (or --pages sign_in)")
    args.out.mkdir(parents=True, exist_ok=True)
    try:
        chromium()
        with tempfile.TemporaryDirectory(prefix="fraudstream-shots-") as tmp:
            if args.dashboard:
                credentials = (
                    (args.user, getpass.getpass(f"password of {args.user}: "))
                    if args.user
                    else None
                )
                shoot_all(args.dashboard.rstrip("/"), pages, args.out, Path(tmp), credentials)
                return 0
            users, password = users_file(Path(tmp))
            with (
                server(args.database_url) as admin,
                seeded_database(admin) as reader,
                running(
                    dashboard(
                        reader,
                        Path(tmp),
                        users,
                        registry(Path(tmp)) if "models" in pages else {},
                    )
                ) as app,
            ):
                shoot_all(app.spec.address, pages, args.out, Path(tmp), ("admin", password))
    except ScreenshotError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
