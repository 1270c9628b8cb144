"""Who may do what: the role matrix, enforced here and only here (written out in docs/access.md)."""

from __future__ import annotations

from server.errors import forbidden, not_signed_in
from server.models import ADMIN, CITIZEN, INTAKE, LEADER, OFFICER_ROLES, SPECIALIST, Dossier, User

ANONYMOUS = "anonymous"

# action → roles allowed. Dossier-level checks (whose dossier) are in can_see_dossier.
PERMISSIONS: dict[str, frozenset[str]] = {
    "catalog.read": frozenset({ANONYMOUS, CITIZEN, *OFFICER_ROLES}),
    "account.register": frozenset({ANONYMOUS}),
    "account.read_own": frozenset({CITIZEN, *OFFICER_ROLES}),
    "dossier.create": frozenset({CITIZEN, INTAKE}),
    "dossier.read": frozenset({CITIZEN, *OFFICER_ROLES}),
    "officer.area": frozenset(OFFICER_ROLES),
    "dossier.receive": frozenset({INTAKE, LEADER}),
    "code_block.reserve": frozenset({INTAKE}),  # dossier-code numbers for a field device (docs/workflow.md)
    "dossier.process": frozenset({SPECIALIST, LEADER}),
    "dossier.assign": frozenset({LEADER}),
    "statistics.read": frozenset({LEADER, ADMIN}),
    "catalog.import": frozenset({ADMIN}),
    "user.manage": frozenset({ADMIN}),
}


def role_of(user: User | None) -> str:
    return user.role if user is not None else ANONYMOUS


def may(user: User | None, action: str) -> bool:
    return role_of(user) in PERMISSIONS[action]


def check(user: User | None, action: str) -> None:
    """Raise 401 for a stranger and 403 for a user whose role does not allow `action`."""
    if not may(user, action):
        raise not_signed_in() if user is None else forbidden()


def require(user: User | None, action: str) -> User:
    """`check` for actions that need an account: returns the signed-in user."""
    check(user, action)
    if user is None:
        raise not_signed_in()
    return user


def can_see_dossier(user: User | None, dossier: Dossier) -> bool:
    """A citizen sees only their own dossiers; an officer only their unit's (drafts stay private): the unit that
    received it, or the unit now handling it after a transfer (liên thông)."""
    if user is None:
        return False
    if user.role == CITIZEN:
        return dossier.owner_id == user.id
    if dossier.status == 0:
        return dossier.owner_id == user.id
    return user.unit_id is not None and user.unit_id in (dossier.unit_id, dossier.handling_unit_id)


def sync_scopes(user: User) -> set[str]:
    """The change-log scopes a user may pull (docs/sync.md)."""
    scopes = {f"user:{user.id}"}
    if user.role in OFFICER_ROLES and user.unit_id is not None:
        scopes.add(f"unit:{user.unit_id}")
    return scopes
