"""Who may do what: one entry point, `allowed(actor, action, dossier=None)` (written out in docs/access.md).

Two facts decide every permission:

- the actor's role (`PERMISSIONS`: action → roles), and
- when a dossier is concerned, how the actor relates to it (`RELATIONS`: action → which relationship). Who relates
  to a dossier is said once, by `units_of` (the officers' side) and `readers` (the owner and those units), and
  the sync scopes are derived from it: `scopes(actor)` is what an actor may pull, `dossier_scopes(dossier)` where
  a dossier's changes go, so that `allowed(a, "dossier.read", d)` iff the two meet (tests/test_access.py).

An actor is a `User` (or None for a stranger) or the sync protocol's `Actor` (sync/model.py); a dossier is a
`Dossier` row, a sync `Record` of it, or its data as a mapping.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tortoise.expressions import Q

from server.web.errors import forbidden, not_signed_in
from server.dossiers.status import DossierStatus
from server.models import ADMIN, CITIZEN, INTAKE, LEADER, OFFICER_ROLES, SPECIALIST, Dossier, User
from sync.model import Actor, Record

ANONYMOUS = "anonymous"
DRAFT = DossierStatus.DRAFT  # a draft is its owner's alone (docs/access.md "Which dossiers")

# action → roles allowed. Whose dossier: RELATIONS.
PERMISSIONS: dict[str, frozenset[str]] = {
    "catalog.read": frozenset({ANONYMOUS, CITIZEN, *OFFICER_ROLES}),
    "session.use": frozenset({ANONYMOUS, CITIZEN, *OFFICER_ROLES}),  # read the session, sign in, sign out
    "dossier.track": frozenset({ANONYMOUS, CITIZEN, *OFFICER_ROLES}),  # public tracking by code and digits
    "account.register": frozenset({ANONYMOUS}),
    "account.read_own": frozenset({CITIZEN, *OFFICER_ROLES}),
    "dossier.create": frozenset({CITIZEN, INTAKE}),
    "dossier.read": frozenset({CITIZEN, *OFFICER_ROLES}),
    "dossier.own": frozenset({CITIZEN}),  # rate it, reuse one's verified pages in it, reorder its pages
    # Take a walk-in dossier nobody owns as one's own, with proof (server/workflow/ownership.py, dossiers/claims.py).
    "dossier.claim": frozenset({CITIZEN}),
    "dossier.act": frozenset({INTAKE, SPECIALIST, LEADER}),  # take an officer's step (server/workflow/policy.py)
    "dossier.attach_result": frozenset({INTAKE, SPECIALIST, LEADER}),
    "officer.area": frozenset(OFFICER_ROLES),
    "dossier.receive": frozenset({INTAKE, LEADER}),
    "code_block.reserve": frozenset({INTAKE}),  # dossier-code numbers for a field device (docs/workflow.md)
    "dossier.process": frozenset({SPECIALIST, LEADER}),
    "dossier.assign": frozenset({LEADER}),
    "statistics.read": frozenset({LEADER, ADMIN}),
    "catalog.import": frozenset({ADMIN}),
    "user.manage": frozenset({ADMIN}),
    # A unit's electronic identifier code (PATCH /api/units/{code}): their own unit or one below it (UnitTree).
    "unit.manage": frozenset({ADMIN}),
    # Import the unit's bank statement and read the transfers left to resolve (docs/payments.md): the one-stop desk
    # and the leader of that unit only (an officer's own unit: UnitTree of that unit alone).
    "payment.reconcile": frozenset({INTAKE, LEADER}),
    # Read the unit's collection account (GET /api/units/{code}/collection-account): its officers, so that a field
    # device can show a VietQR code offline at intake (docs/payments.md); an administrator of a unit above it reads
    # it through unit.manage.
    "payment.account": frozenset({INTAKE, SPECIALIST, LEADER, ADMIN}),
    # A payment gateway's notification and the citizen's return from it: no session; the signature decides.
    "payment.notify": frozenset({ANONYMOUS, CITIZEN, *OFFICER_ROLES}),
    # A notice channel's delivery receipt (Zalo's webhook): no session; the signature decides.
    "notice.receipt": frozenset({ANONYMOUS, CITIZEN, *OFFICER_ROLES}),
}

# action → how the actor must relate to the dossier, when one is given (default "reader"):
#   reader    its owner, or an officer of a unit that received or handles it (`readers`: the sync scopes too)
#   owner     its owner
#   unit      an officer of the unit that received it or of the unit handling it (`units_of`)
#   handling  an officer of the unit handling it now (`acting_unit`): after a transfer, not the receiving unit
#   unowned   nobody: a filed dossier with no owner account (taken at the desk or in the field)
RELATIONS: dict[str, str] = {
    "dossier.own": "owner",
    "dossier.claim": "unowned",
    "dossier.act": "unit",
    "dossier.receive": "unit",
    "dossier.process": "unit",
    "dossier.assign": "unit",
    "dossier.attach_result": "handling",
    "unit.manage": "unit_tree",
    "payment.reconcile": "unit_tree",
    "payment.account": "unit_tree",
}


@dataclass(frozen=True)
class UnitTree:
    """An administrative unit as a resource: its id and the ids of the units above it (commune → province)."""

    ids: frozenset[str]


# -- the actor ------------------------------------------------------------------------------------------------

def role_of(actor: User | Actor | None) -> str:
    return actor.role if actor is not None else ANONYMOUS


def _user_id(actor: User | Actor) -> str:
    return actor.user_id if isinstance(actor, Actor) else str(actor.id)


def _unit_id(actor: User | Actor) -> str | None:
    """The officer's unit (a citizen has none), as a string so that Users and sync Actors compare alike."""
    if actor.role not in OFFICER_ROLES or actor.unit_id is None:
        return None
    return str(actor.unit_id)


def actor_for(user: User) -> Actor:
    """The sync protocol's view of a signed-in user (sync/model.py): who, which role, which scopes."""
    return Actor(user_id=str(user.id), role=user.role, scopes=frozenset(scopes(user)),
                 unit_id=str(user.unit_id) if user.unit_id else None)


def claimant(user: User, dossier: Dossier | Record | Mapping[str, Any]) -> Actor:
    """The actor of one `claim` mutation (server/workflow/changes.py): the citizen, who may not read the unowned
    dossier yet, reaching it for that one step; the Policy then decides on the proof (server/workflow/ownership.py).
    Anyone else, or an owned dossier, gets the user's own actor, which cannot reach it."""
    actor = actor_for(user)
    if not allowed(user, "dossier.claim", dossier):
        return actor
    return Actor(user_id=actor.user_id, role=actor.role, scopes=actor.scopes | readers(dossier), unit_id=actor.unit_id)


# -- the dossier ----------------------------------------------------------------------------------------------

def _field(dossier: Dossier | Record | Mapping[str, Any], name: str) -> Any:
    if isinstance(dossier, Record):
        return dossier.data.get(name)
    if isinstance(dossier, Mapping):
        return dossier.get(name)
    return getattr(dossier, name)


def _str(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def units_of(dossier: Dossier | Record | Mapping[str, Any]) -> frozenset[str]:
    """The units whose officers relate to a dossier: the unit that received it and, after a transfer (liên thông),
    the unit handling it. None for a draft, which stays private to its owner."""
    if int(_field(dossier, "status")) == DRAFT:
        return frozenset()
    return frozenset(unit for unit in (_str(_field(dossier, "unit_id")), _str(_field(dossier, "handling_unit_id")))
                     if unit is not None)


def acting_unit(dossier: Dossier | Record | Mapping[str, Any]) -> Any:
    """The unit processing the dossier now: the unit it was forwarded to, else the unit that received it (its id
    as the dossier holds it)."""
    return _field(dossier, "handling_unit_id") or _field(dossier, "unit_id")


def readers(dossier: Dossier | Record | Mapping[str, Any]) -> frozenset[str]:
    """Who may read a dossier, as sync scopes: its owner and the officers of `units_of` it."""
    owner = _str(_field(dossier, "owner_id"))
    return frozenset({*([f"user:{owner}"] if owner else []), *(f"unit:{unit}" for unit in units_of(dossier))})


def dossier_scopes(dossier: Dossier | Record | Mapping[str, Any]) -> frozenset[str]:
    """The change-log scopes a dossier's changes (and its pages' changes) are written to (docs/sync.md)."""
    return readers(dossier)


def scopes(actor: User | Actor) -> set[str]:
    """The change-log scopes an actor may pull: their own, and their unit's if they are an officer."""
    unit = _unit_id(actor)
    return {f"user:{_user_id(actor)}", *([f"unit:{unit}"] if unit else [])}


# -- the one decision -----------------------------------------------------------------------------------------

def allowed(actor: User | Actor | None, action: str,
            dossier: Dossier | Record | Mapping[str, Any] | UnitTree | None = None) -> bool:
    """May `actor` do `action` (on `dossier`, or on a unit)? The role first, then how the actor relates to it."""
    if role_of(actor) not in PERMISSIONS[action]:
        return False
    if dossier is None:
        return True
    assert actor is not None  # every dossier action needs an account
    relation = RELATIONS.get(action, "reader")
    if isinstance(dossier, UnitTree) or relation == "unit_tree":
        # An officer's own unit or a unit below it: a province's administrator manages its communes.
        own = _unit_id(actor)
        return isinstance(dossier, UnitTree) and relation == "unit_tree" and own is not None and own in dossier.ids
    if relation == "reader":
        return bool(scopes(actor) & readers(dossier))
    if relation == "owner":
        return _str(_field(dossier, "owner_id")) == _user_id(actor)
    if relation == "unowned":
        return _str(_field(dossier, "owner_id")) is None and int(_field(dossier, "status")) != DRAFT
    unit = _unit_id(actor)
    if relation == "unit":
        return unit is not None and unit in units_of(dossier)
    if relation == "handling":
        return unit is not None and unit == _str(acting_unit(dossier))
    raise ValueError(f"unknown relation {relation!r} for {action}")


def visible_dossiers(user: User) -> Q:
    """`allowed(user, "dossier.read", d)` as a database filter: `Dossier.filter(visible_dossiers(user))`."""
    mine = Q(owner_id=user.id)
    unit = _unit_id(user)
    return mine | (unit_dossiers(int(unit)) & ~Q(status=DRAFT)) if unit else mine


def unit_dossiers(unit_id: int) -> Q:
    """Dossiers a unit received or, after a transfer, handles: the `units_of` side of the rule as a filter
    (drafts included: callers that list open or received dossiers already leave them out)."""
    return Q(unit_id=unit_id) | Q(handling_unit_id=unit_id)


# -- answers for handlers -------------------------------------------------------------------------------------

def check(user: User | None, action: str) -> None:
    """Raise 401 for a stranger and 403 for a user whose role does not allow `action`."""
    if not allowed(user, action):
        raise not_signed_in() if user is None else forbidden()


def require(user: User | None, action: str) -> User:
    """`check` for actions that need an account: returns the signed-in user."""
    check(user, action)
    if user is None:
        raise not_signed_in()
    return user
