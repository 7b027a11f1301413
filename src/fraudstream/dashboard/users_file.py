"""The users who sign in to the dashboard with a password: a TOML file of names, roles and
argon2 hashes (never a password), at ``FRAUD_DASHBOARD_USERS_FILE``.

The file is read on every use, not once per process: the ``users`` command, an admin's page and
every dashboard session change it, and a user removed or demoted must lose their access at their
next click, not at the next restart. It is small (a line per field), so a read costs nothing
next to a page's queries. Writes are atomic, 0600 and serialised (:mod:`private_files`).

Verifying costs the same for a name that does not exist: the password is checked against a
dummy hash, so the time of an answer does not tell a wrong name from a wrong password. A stored
hash made with weaker parameters than today's is replaced, after a right password, by one made
with today's (argon2's ``check_needs_rehash``).
"""

from __future__ import annotations

import json
import logging
import secrets
import tomllib
from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path
from typing import Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from fraudstream.dashboard.private_files import locked, write_private
from fraudstream.dashboard.roles import Role
from fraudstream.errors import ConfigError

log = logging.getLogger(__name__)

NAME_PATTERN: Final = r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$"
"""A user name: letters, digits and ``. _ @ + -`` (an e-mail address fits), 64 at most."""
MIN_PASSWORD: Final = 12
"""Shorter passwords are refused; generated ones have 24 characters (144 random bits)."""
HEADER: Final = """\
# Users of the fraudstream dashboard: names, roles and argon2 hashes (never a password).
# Change it with `fraudstream users ...` or on the dashboard's Users page (admins only).
"""
DEFAULT_HASHER: Final = PasswordHasher()
"""argon2id with the library's current parameters (RFC 9106's low-memory choice)."""


class StoredUser(BaseModel):
    """One user of the file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=NAME_PATTERN)
    role: Role
    hash: str = Field(pattern=r"^\$argon2(id|i|d)\$", repr=False)


class _Document(BaseModel):
    """The whole file: a list of users whose names are unique."""

    model_config = ConfigDict(extra="forbid")

    users: list[StoredUser] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_names(self) -> _Document:
        names = [user.name for user in self.users]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise ValueError(f"user names listed twice: {', '.join(twice)}")
        return self


def new_password() -> str:
    """A generated password: 24 URL-safe characters (144 random bits)."""
    return secrets.token_urlsafe(18)


@cache
def _dummy_hash(hasher: PasswordHasher) -> str:
    """A hash of a password nobody knows, to verify against when the name is unknown."""
    return hasher.hash(secrets.token_urlsafe(32))


class UsersFile:
    """The users file at ``path``; every method reads it afresh, every change rewrites it."""

    def __init__(self, path: Path, hasher: PasswordHasher = DEFAULT_HASHER) -> None:
        self.path = path
        self._hasher = hasher

    def exists(self) -> bool:
        return self.path.exists()

    def users(self) -> list[StoredUser]:
        """Every user, in the file's order; none when the file does not exist."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise ConfigError(f"cannot read the users file {self.path}: {exc.strerror}") from None
        try:
            return _Document.model_validate(tomllib.loads(text)).users
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"the users file {self.path} is not TOML: {exc}") from None
        except ValidationError as exc:
            # the location and the rule only: an input value could be a hash
            problems = "; ".join(
                ".".join(str(part) for part in err["loc"]) + f": {err['msg']}"
                for err in exc.errors()
            )
            raise ConfigError(f"the users file {self.path} is malformed: {problems}") from None

    def find(self, name: str) -> StoredUser | None:
        return next((user for user in self.users() if user.name == name), None)

    def verify(self, name: str, password: str) -> StoredUser | None:
        """The user when ``password`` is theirs; None for a wrong name or a wrong password."""
        user = self.find(name)
        try:
            self._hasher.verify(user.hash if user else _dummy_hash(self._hasher), password)
        except InvalidHashError:
            log.warning("the stored hash of a user of %s is unreadable: reset it", self.path)
            return None
        except VerificationError:
            return None
        if user is None:
            return None
        if self._hasher.check_needs_rehash(user.hash):
            self._rehash(user, password)
        return user

    def create(self, users: Iterable[tuple[str, Role, str]]) -> bool:
        """Write a new file of ``(name, role, password)`` users; False (and no change) when the
        file exists already, so that two first starts cannot both hand out passwords."""
        with locked(self.path):
            if self.exists():
                return False
            stored = [self._stored(name, role, password) for name, role, password in users]
            self._write(stored)
        return True

    def add(self, name: str, role: Role, password: str) -> None:
        """A new user; ConfigError when the name is taken."""
        user = self._stored(name, role, password)

        def edit(users: list[StoredUser]) -> list[StoredUser]:
            if any(u.name == name for u in users):
                raise ConfigError(f"there is already a user called {name}")
            return [*users, user]

        self._change(edit)

    def set_role(self, name: str, role: Role) -> None:
        """Change a user's role; never the last admin's to a lower one."""
        self._change(lambda users: self._replace(users, name, role=role))

    def set_password(self, name: str, password: str) -> None:
        """Replace a user's password."""
        digest = self._hash(password)
        self._change(lambda users: self._replace(users, name, hash=digest))

    def remove(self, name: str) -> None:
        """Remove a user; never the last admin."""

        def edit(users: list[StoredUser]) -> list[StoredUser]:
            self._require(users, name)
            return _keeping_an_admin(users, [u for u in users if u.name != name], name)

        self._change(edit)

    # -- inside -------------------------------------------------------------------------------

    def _stored(self, name: str, role: Role, password: str) -> StoredUser:
        try:
            return StoredUser(name=name, role=role, hash=self._hash(password))
        except ValidationError:
            raise ConfigError(
                f"{name!r} is not a user name: letters, digits and . _ @ + - (64 at most), "
                "starting with a letter or a digit"
            ) from None

    def _hash(self, password: str) -> str:
        if len(password) < MIN_PASSWORD:
            raise ConfigError(f"a password needs {MIN_PASSWORD} characters at least")
        return self._hasher.hash(password)

    def _rehash(self, user: StoredUser, password: str) -> None:
        digest = self._hasher.hash(password)

        def edit(users: list[StoredUser]) -> list[StoredUser]:
            # only over the hash just verified: a reset made meanwhile wins
            return [u.model_copy(update={"hash": digest}) if u == user else u for u in users]

        self._change(edit)

    def _require(self, users: list[StoredUser], name: str) -> StoredUser:
        found = next((u for u in users if u.name == name), None)
        if found is None:
            raise ConfigError(f"no user is called {name} in {self.path}")
        return found

    def _replace(self, users: list[StoredUser], name: str, **update: str) -> list[StoredUser]:
        self._require(users, name)
        changed = [u.model_copy(update=update) if u.name == name else u for u in users]
        return _keeping_an_admin(users, changed, name)

    def _change(self, edit: Callable[[list[StoredUser]], list[StoredUser]]) -> None:
        with locked(self.path):
            self._write(edit(self.users()))

    def _write(self, users: list[StoredUser]) -> None:
        lines = [HEADER]
        for user in users:  # an ASCII JSON string is a TOML basic string
            lines += [
                "[[users]]",
                f"name = {json.dumps(user.name)}",
                f"role = {json.dumps(user.role)}",
                f"hash = {json.dumps(user.hash)}",
                "",
            ]
        write_private(self.path, "\n".join(lines))


def _keeping_an_admin(
    before: list[StoredUser], after: list[StoredUser], name: str
) -> list[StoredUser]:
    """``after``, unless it leaves no admin where ``before`` had one (the last admin's change
    would lock everyone out of user management): then a ConfigError."""
    if any(u.role == "admin" for u in before) and not any(u.role == "admin" for u in after):
        raise ConfigError(f"{name} is the last admin: make another user admin first")
    return after
