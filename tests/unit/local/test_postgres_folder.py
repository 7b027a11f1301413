"""The launcher refuses a data folder it cannot serve, before starting anything."""

from __future__ import annotations

from pathlib import Path

import pytest

from fraudstream.errors import LocalStackError
from fraudstream.local.postgres import binaries, ensure_cluster

pytestmark = pytest.mark.unit


def test_a_cluster_of_another_major_version_is_refused(tmp_path: Path) -> None:
    pgdata = tmp_path / "pgdata"
    pgdata.mkdir()
    (pgdata / "PG_VERSION").write_text("15\n")
    with pytest.raises(LocalStackError, match=r"made by PostgreSQL 15 but this is PostgreSQL \d+"):
        ensure_cluster(tmp_path)


def test_a_folder_that_is_not_a_cluster_is_refused(tmp_path: Path) -> None:
    (tmp_path / "pgdata").mkdir()
    with pytest.raises(LocalStackError, match="is not a PostgreSQL data folder"):
        ensure_cluster(tmp_path)


def test_the_wheel_ships_the_server_binaries() -> None:
    folder = binaries()
    assert all((folder / name).is_file() for name in ("postgres", "initdb"))
