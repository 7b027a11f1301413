"""The users file: argon2 hashes, verification, rehashing, atomic private writes, the rules."""

from __future__ import annotations

import os
import stat
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from fraudstream.dashboard import private_files
from fraudstream.dashboard.users_file import UsersFile
from fraudstream.errors import ConfigError

pytestmark = pytest.mark.unit

FAST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
"""Cheap parameters: the tests check the logic, not argon2's cost."""
PASSWORD = "correct horse battery"


class CountingHasher(PasswordHasher):
    """A fast hasher that counts the hashes it verifies against."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=8, parallelism=1)
        self.verified: list[str] = []

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        self.verified.append(str(hash))
        return super().verify(hash, password)


@pytest.fixture
def store(tmp_path: Path) -> UsersFile:
    users = UsersFile(tmp_path / "home" / "users.toml", FAST)
    assert users.create([("ann", "admin", PASSWORD), ("val", "viewer", PASSWORD)])
    return users


def test_a_user_is_stored_as_a_hash_and_verified_by_it(store: UsersFile) -> None:
    text = store.path.read_text()
    assert PASSWORD not in text
    rows = tomllib.loads(text)["users"]
    assert [(row["name"], row["role"]) for row in rows] == [("ann", "admin"), ("val", "viewer")]
    assert all(row["hash"].startswith("$argon2id$") for row in rows)
    user = store.verify("ann", PASSWORD)
    assert user is not None
    assert (user.name, user.role) == ("ann", "admin")


def test_a_wrong_password_or_an_unknown_name_verifies_as_nobody(store: UsersFile) -> None:
    assert store.verify("ann", PASSWORD + "!") is None
    assert store.verify("nobody", PASSWORD) is None
    assert store.verify("", "") is None


def test_an_unknown_name_costs_a_verification_too(tmp_path: Path) -> None:
    hasher = CountingHasher()
    users = UsersFile(tmp_path / "users.toml", hasher)
    users.create([("ann", "admin", PASSWORD)])
    stored = users.find("ann")
    assert stored is not None
    assert users.verify("ann", "wrong password") is None
    assert users.verify("nobody", PASSWORD) is None
    assert len(hasher.verified) == 2  # one argon2 verification each, whatever the name
    assert hasher.verified[0] == stored.hash
    assert hasher.verified[1] != stored.hash  # the dummy hash


def test_a_hash_of_weaker_parameters_is_redone_after_a_right_password(store: UsersFile) -> None:
    before = store.find("ann")
    assert before is not None
    stronger = PasswordHasher(time_cost=2, memory_cost=16, parallelism=1)
    upgraded = UsersFile(store.path, stronger)
    assert upgraded.verify("ann", PASSWORD + "!") is None
    assert store.find("ann") == before  # a wrong password changes nothing
    assert upgraded.verify("ann", PASSWORD) is not None
    after = store.find("ann")
    assert after is not None
    assert after.hash != before.hash
    assert not stronger.check_needs_rehash(after.hash)
    assert upgraded.verify("ann", PASSWORD) is not None  # the new hash is the same password
    assert store.find("ann") == after  # and is not redone again


def test_the_file_is_private_whatever_the_umask(store: UsersFile) -> None:
    previous = os.umask(0)
    try:
        store.add("bob", "analyst", PASSWORD)
    finally:
        os.umask(previous)
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    leftovers = {p.name for p in store.path.parent.iterdir()} - {"users.toml", "users.toml.lock"}
    assert leftovers == set()


def test_a_failed_write_leaves_the_old_file_whole(
    store: UsersFile, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = store.path.read_text()

    def broken_rename(*_: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(private_files.os, "replace", broken_rename)
    with pytest.raises(ConfigError, match="No space left on device"):
        store.add("bob", "analyst", PASSWORD)
    assert store.path.read_text() == before
    assert sorted(p.name for p in store.path.parent.iterdir()) == [
        "users.toml",
        "users.toml.lock",
    ]


def test_the_last_admin_can_be_neither_demoted_nor_removed(store: UsersFile) -> None:
    with pytest.raises(ConfigError, match="ann is the last admin"):
        store.set_role("ann", "analyst")
    with pytest.raises(ConfigError, match="ann is the last admin"):
        store.remove("ann")
    store.set_role("val", "admin")
    store.set_role("ann", "analyst")  # another admin exists now
    store.remove("ann")
    assert [(u.name, u.role) for u in store.users()] == [("val", "admin")]


def test_a_file_without_an_admin_does_not_block_other_changes(tmp_path: Path) -> None:
    users = UsersFile(tmp_path / "users.toml", FAST)
    users.create([("val", "viewer", PASSWORD), ("eve", "viewer", PASSWORD)])
    users.set_role("val", "analyst")
    users.remove("eve")
    assert [(u.name, u.role) for u in users.users()] == [("val", "analyst")]


def test_names_passwords_and_existence_are_checked(store: UsersFile) -> None:
    with pytest.raises(ConfigError, match="already a user called ann"):
        store.add("ann", "viewer", PASSWORD)
    with pytest.raises(ConfigError, match="is not a user name"):
        store.add("bad name", "viewer", PASSWORD)
    with pytest.raises(ConfigError, match="12 characters"):
        store.add("bob", "viewer", "short")
    with pytest.raises(ConfigError, match="no user is called bob"):
        store.set_role("bob", "admin")
    with pytest.raises(ConfigError, match="no user is called bob"):
        store.remove("bob")
    assert [u.name for u in store.users()] == ["ann", "val"]


def test_a_new_password_replaces_the_old_one(store: UsersFile) -> None:
    store.set_password("val", "another long password")
    assert store.verify("val", PASSWORD) is None
    assert store.verify("val", "another long password") is not None


def test_create_never_overwrites_an_existing_file(store: UsersFile) -> None:
    before = store.path.read_text()
    assert not store.create([("mallory", "admin", PASSWORD)])
    assert store.path.read_text() == before


def test_a_malformed_file_is_one_error_that_shows_no_hash(tmp_path: Path) -> None:
    path = tmp_path / "users.toml"
    digest = FAST.hash(PASSWORD)
    path.write_text(f'[[users]]\nname = "ann"\nrole = "boss"\nhash = "{digest}"\n')
    with pytest.raises(ConfigError) as caught:
        UsersFile(path, FAST).users()
    assert "users.0.role" in str(caught.value)
    assert digest not in str(caught.value)
    path.write_text("[[users]\n")
    with pytest.raises(ConfigError, match="is not TOML"):
        UsersFile(path, FAST).users()


def test_no_file_means_no_users(tmp_path: Path) -> None:
    users = UsersFile(tmp_path / "absent.toml", FAST)
    assert users.users() == []
    assert users.verify("admin", PASSWORD) is None
    assert not users.exists()


@pytest.fixture
def umask_022() -> Iterator[None]:
    previous = os.umask(0o022)
    yield
    os.umask(previous)


@pytest.mark.usefixtures("umask_022")
def test_a_private_folder_is_for_its_owner_only(tmp_path: Path) -> None:
    folder = private_files.private_dir(tmp_path / "run")
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
