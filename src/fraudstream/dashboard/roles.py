"""Who may do what on the dashboard: the three roles, lowest first, and a signed-in identity.

Apart from :mod:`fraudstream.dashboard.auth` (which re-exports both) because the users file,
the identity-provider mapping and the ``users`` command need them without importing Streamlit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal, TypeAlias, get_args

from fraudstream.config import DashboardRole

Role: TypeAlias = DashboardRole
"""``viewer`` sees the monitoring pages; ``analyst`` also reviews; ``admin`` also manages users."""

ROLES: Final[tuple[Role, ...]] = get_args(DashboardRole)
"""Every role, lowest first: a role may do everything the ones before it may."""


def rank(role: Role) -> int:
    """The place of ``role`` in :data:`ROLES`: a higher rank may do more."""
    return ROLES.index(role)


@dataclass(frozen=True)
class Identity:
    """The user of one dashboard session: who, with which role, signed in how."""

    name: str
    role: Role
    via: Literal["password", "oidc"]

    @property
    def may_review(self) -> bool:
        """Analysts and admins may review flagged transactions."""
        return self.at_least("analyst")

    @property
    def is_admin(self) -> bool:
        """Only admins manage the dashboard's users."""
        return self.role == "admin"

    def at_least(self, role: Role) -> bool:
        """True when this identity's role is ``role`` or a higher one."""
        return rank(self.role) >= rank(role)
