"""Files that only their owner may read (the users file, the sign-in secrets): written whole or
not at all, mode 0600 from their first byte, changed by one writer at a time.

A reader (another dashboard session, the ``users`` command) sees the old file or the new one,
never half of one: the text goes to a temporary file beside the target, reaches the disk, and
replaces the target in one rename. The temporary file is created 0600 (``mkstemp``), so no other
user can open it in between, whatever the umask. A read-change-write goes under :func:`locked`,
so that two writers (an admin's page and the ``users`` command) cannot lose each other's change.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from fraudstream.errors import ConfigError

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700


def write_private(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` atomically; the file is 0600. ConfigError if it cannot."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                os.fchmod(out.fileno(), PRIVATE_FILE)
                out.write(text)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            raise
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)  # the rename itself survives a crash
        finally:
            os.close(directory)
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror}") from None


def private_dir(path: Path) -> Path:
    """``path`` as a folder only its owner may enter (created when absent)."""
    try:
        path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
        path.chmod(PRIVATE_DIR)
    except OSError as exc:
        raise ConfigError(f"cannot make the private folder {path}: {exc.strerror}") from None
    return path


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold the write lock of ``path`` (an exclusive ``flock`` on ``<path>.lock``)."""
    lock = path.with_name(path.name + ".lock")
    try:
        lock.parent.mkdir(parents=True, exist_ok=True)
        handle = os.open(lock, os.O_RDWR | os.O_CREAT, PRIVATE_FILE)
    except OSError as exc:
        raise ConfigError(f"cannot lock {path}: {exc.strerror}") from None
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        os.close(handle)  # closing the descriptor releases the lock
