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
protocol, to wait until Streamlit has finished drawing), signing in through the page's own sign-
in form (:meth:`fixtures.browser.Tab.sign_in`, which the browser tests use too). A picture of
nearly one colour (a blank page) is a failure. Exit code 0 only when every page gave a real
picture. Everything it started is stopped, and its database dropped, at the end. ``--dashboard
URL`` shoots a running dashboard as it is instead (the live one of ``fraudstream up``), seeding
nothing, signed in as ``--user`` (the password is asked for).
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import os
import shutil
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
from PIL import Image
from psycopg import sql

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the seed data is the tests' fixture

from fixtures.browser import Browser, BrowserError, chromium  # noqa: E402
from fixtures.dashboard import reader_role, seed_dashboard  # noqa: E402
from fixtures.postgres import with_database  # noqa: E402
from fraudstream.config import Settings  # noqa: E402
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
    "review": "review",
    "audit": "audit",
}
"""Page name -> URL path under the dashboard (the first page is the root). Every page but the
sign-in page is shot signed in, through the sign-in form of the page's own address."""
SIGNED_OUT = {"sign_in"}
MIN_COLOURS = 64
"""A rendered page has text, charts and anti-aliasing; a blank one has a handful of colours."""


class ScreenshotError(BrowserError):
    """A page could not be photographed; the message says which and why."""


def distinct_colours(path: Path) -> int:
    """How many colours the picture uses (capped; enough to tell a page from a blank)."""
    with Image.open(path) as image:
        colours = image.convert("RGB").getcolors(maxcolors=1 << 16)
    return 1 << 16 if colours is None else len(colours)


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
    except BrowserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
