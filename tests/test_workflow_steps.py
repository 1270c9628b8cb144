"""Every workflow step, allowed and refused, per role (issue 6): the dossier state machine, exhaustively.

EXPECTED below is transcribed from docs/workflow.md (the Steps table and the sections after it), written
independently of server/workflow.py's STEPS. Each case puts one dossier straight into a state (a Dossier row
written through the store's own serialiser) and sends one command through the sync engine's whole write
path (sync.engine.sync_round with the server's TortoiseStore and DossierPolicy, as server/api/sync.py does),
against the suite's real database (SQLite, or PostgreSQL with DATABASE_URL). It then checks what the device
is told and what the database holds: the new status and an event when allowed; otherwise the rejection code,
and the dossier untouched (status, version, no event).
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from tests.conftest import PHU_THO, ROOT, VALID_FORM, VIET_TRI, VINH_YEN, motcua_env, run_motcua, unique_phone

# The states a dossier can be in: status codes 0–10, with 5 split into its sub-states.
STATES: list[tuple[int, str | None]] = [(0, None), (1, None), (2, None), (3, None), (4, None), (5, "requested"),
                                        (5, "sent"), (6, None), (7, None), (8, None), (9, None), (10, None)]
R5, S5 = (5, "requested"), (5, "sent")

# Who acts: the owner, the officers of the dossier's unit (Vĩnh Yên), an admin of that unit, another
# citizen, and a leader of another unit (Việt Trì: the most powerful role, of the wrong unit).
ACTORS = ["owner", "intake", "specialist", "leader", "admin", "other_citizen", "other_unit_leader"]
UNIT_OFFICERS = {"intake", "specialist", "leader", "admin"}

KEEP = None  # the step leaves status and sub-state as they were


@dataclass(frozen=True)
class Expected:
    """One row of the Steps table in docs/workflow.md."""

    from_states: tuple[tuple[int, str | None], ...]
    roles: frozenset[str]
    to: tuple[int, str | None] | None
    needs_reason: bool = False
    # Sub-states of an allowed status where the step is refused with its own code (docs "Supplements").
    refused_in: dict[tuple[int, str | None], str] = field(default_factory=dict)


def _all(*statuses: int) -> tuple[tuple[int, str | None], ...]:
    return tuple(state for state in STATES if state[0] in statuses)


EXPECTED: dict[str, Expected] = {
    "submit": Expected(_all(0), frozenset({"owner"}), (1, None)),
    "withdraw": Expected(_all(1, 2, 4, 5, 6), frozenset({"owner"}), (7, None)),
    "receive": Expected(_all(1), frozenset({"intake", "leader"}), (2, None)),
    "refuse": Expected(_all(1), frozenset({"intake", "leader"}), (3, None), needs_reason=True),
    "start": Expected(_all(2), frozenset({"specialist", "leader"}), (4, None)),
    "request_supplement": Expected(_all(1, 2, 4, 5), frozenset({"intake", "specialist", "leader"}), R5,
                                   needs_reason=True, refused_in={R5: "supplement_not_sent"}),
    "send_supplement": Expected(_all(5), frozenset({"owner"}), S5, refused_in={S5: "supplement_already_sent"}),
    "accept_supplement": Expected(_all(5), frozenset({"intake", "specialist", "leader"}), (4, None)),
    "request_payment": Expected(_all(4), frozenset({"specialist", "leader"}), (6, None), needs_reason=True),
    "payment_done": Expected(_all(6), frozenset({"intake", "specialist", "leader"}), (4, None)),
    "stop": Expected(_all(4, 7), frozenset({"leader"}), (8, None), needs_reason=True),
    "finish": Expected(_all(4), frozenset({"specialist", "leader"}), (9, None)),
    "return": Expected(_all(9), frozenset({"intake", "leader"}), (10, None)),
    "assign": Expected(_all(2, 4, 5, 6), frozenset({"leader"}), KEEP),
    "forward": Expected(_all(2, 4), frozenset({"intake", "leader"}), KEEP, needs_reason=True),
    "record_postal": Expected(_all(1, 2, 4, 5, 6, 9), frozenset({"intake", "leader"}), KEEP),
    "apologise": Expected(_all(2, 4, 5, 6, 7), frozenset({"specialist", "leader"}), KEEP, needs_reason=True),
}


def outcome(command: str, state: tuple[int, str | None], actor: str) -> str | tuple[int, str | None]:
    """What docs/workflow.md and docs/access.md say happens: the new state, or the rejection code."""
    expected = EXPECTED[command]
    # A draft is its owner's alone; once submitted the unit's officers see it; nobody else ever does
    # (docs/access.md): the sync engine answers an invisible record with not_found.
    visible = actor == "owner" or (actor in UNIT_OFFICERS and state[0] != 0)
    if not visible:
        return "not_found"
    if state[0] not in {status for status, _ in expected.from_states}:
        return "command_not_allowed"
    if actor not in expected.roles:
        return "forbidden"
    if state in expected.refused_in:
        return expected.refused_in[state]
    return expected.to if expected.to is not KEEP else state


# -- the database, once per module ------------------------------------------------------------------------

@dataclass
class World:
    loop: asyncio.AbstractEventLoop
    users: dict[str, int]
    unit_ids: dict[str, int]
    version: int  # the current ProcedureVersion number of TEST.0001
    communes: set[str]
    seqs: dict[str, int] = field(default_factory=dict)

    def run(self, coroutine):
        return self.loop.run_until_complete(coroutine)


@pytest.fixture(scope="module")
def world(fresh_database, tmp_path_factory):
    from tortoise import Tortoise

    from server import db
    from server.models import AdministrativeUnit, Procedure, User

    env = motcua_env(tmp_path_factory.mktemp("steps") / "data", fresh_database())
    run_motcua(["migrate"], env)
    run_motcua(["seed"], env)
    run_motcua(["catalog", "import", str(ROOT / "tests" / "data" / "catalog-test.json")], env)

    class Settings:
        database_url = env["DATABASE_URL"]

    loop = asyncio.new_event_loop()

    async def setup() -> World:
        # Each case runs in its own task: the ORM's context must be the process-wide fallback, as in the server.
        await Tortoise.init(config=db.tortoise_config(Settings()), _enable_global_fallback=True)
        units = {code: (await AdministrativeUnit.get(code=code, valid_to__isnull=True)).id
                 for code in (VINH_YEN, VIET_TRI, PHU_THO)}
        roles = {"owner": ("citizen", None), "other_citizen": ("citizen", None),
                 "intake": ("intake", VINH_YEN), "specialist": ("specialist", VINH_YEN),
                 "specialist2": ("specialist", VINH_YEN), "leader": ("leader", VINH_YEN),
                 "admin": ("admin", VINH_YEN), "other_unit_leader": ("leader", VIET_TRI)}
        users = {}
        for key, (role, unit) in roles.items():
            user = await User.create(phone=unique_phone(), full_name=f"Người thử {key}", full_name_folded=key,
                                     password_hash="x", role=role, unit_id=units[unit] if unit else None)
            users[key] = user.id
        procedure = await Procedure.get(code="TEST.0001")
        communes = set(await AdministrativeUnit.filter(level="commune").values_list("code", flat=True))
        return World(loop, users, units, procedure.current_version, communes)

    try:  # an open SQLite connection's thread would keep pytest from exiting, even after a failed setup
        yield loop.run_until_complete(setup())
    finally:
        loop.run_until_complete(Tortoise.close_connections())
        loop.close()


def actor_of(world: World, key: str):
    from server.api.sync import actor_for
    from server.models import User

    return actor_for(world.run(User.get(id=world.users[key])))


async def put_dossier(world: World, state: tuple[int, str | None], **extra: Any) -> str:
    """A dossier of the owner's, filed with Vĩnh Yên, straight in `state`, with what that state implies."""
    from server.sync_store import FORM_PREFIX, save_dossier_record
    from sync.model import Record

    status, substatus = state
    now = datetime.now(timezone.utc)
    dossier_id = str(uuid.uuid4())
    data: dict[str, Any] = {
        "procedure_code": "TEST.0001", "procedure_version": world.version, "unit_id": world.unit_ids[VINH_YEN],
        "owner_id": world.users["owner"], "created_by": world.users["owner"], "status": status,
        "substatus": substatus, "channel": "online",
        "postal_return": True,  # the citizen asked for the result by post, so record_postal applies
        **{FORM_PREFIX + name: value for name, value in VALID_FORM.items()},
    }
    if status >= 1:
        data["submitted_at"] = (now - timedelta(days=3)).isoformat()
    if status >= 2:
        data.update(code=f"STEPS-{dossier_id[:18]}", received_at=(now - timedelta(days=2)).isoformat(),
                    due_at=(now + timedelta(days=5)).isoformat())
    if state == R5:
        data["clock_paused_at"] = (now - timedelta(days=1)).isoformat()  # waiting for the citizen
    data.update(extra)
    await save_dossier_record(Record("dossier", dossier_id, 3, data, frozenset()), new=True)
    return dossier_id


def args_for(world: World, command: str, reason: bool = True) -> dict[str, Any]:
    args: dict[str, Any] = {}
    if reason and (EXPECTED[command].needs_reason or command == "assign"):
        args["reason"] = f"Lý do thử cho {command}"
    if command == "assign":
        args["officer_id"] = world.users["specialist2"]
    elif command == "forward":
        args["unit_code"] = PHU_THO
    elif command == "record_postal":
        args["consignment"] = "EB123456789VN"
    elif command == "apologise":
        args["new_due_at"] = (datetime.now(timezone.utc) + timedelta(days=20)).isoformat()
    return args


def send(world: World, actor_key: str, dossier_id: str, command: str, args: dict[str, Any],
         base_version: int = 3) -> dict[str, Any]:
    """One sync round from the actor's device carrying one command, as POST /api/sync runs it."""
    from server.sync_store import TortoiseStore
    from server.workflow import DossierPolicy
    from sync import sync_round

    seq = world.seqs[actor_key] = world.seqs.get(actor_key, 0) + 1
    device_id = f"steps-{actor_key}"
    body = {"device_id": device_id, "cursor": None, "limit": 1, "lost": [],
            "mutations": [{"mutation_id": f"{device_id}-{seq}", "seq": seq, "op": "command", "entity": "dossier",
                           "entity_id": dossier_id, "command": command, "args": args,
                           "base_version": base_version}]}
    actor = actor_of(world, actor_key)
    response = world.run(sync_round(TortoiseStore(), DossierPolicy(world.communes, device_id), actor, body))
    [result] = response["results"]
    return result


def row_of(world: World, dossier_id: str):
    from server.models import Dossier, DossierEvent

    dossier = world.run(Dossier.get(id=dossier_id))
    events = world.run(DossierEvent.filter(dossier_id=dossier_id).values_list("action", "from_status", "to_status"))
    return dossier, events


def assert_refused(world: World, dossier_id: str, result: dict, code: str, state: tuple[int, str | None]) -> None:
    assert result["status"] == "rejected", result
    assert result["code"] == code, result
    assert result["reason"]["vi"] and result["reason"]["en"], result  # a reason the device shows
    dossier, events = row_of(world, dossier_id)
    assert (dossier.status, dossier.substatus, dossier.version) == (*state, 3)
    assert events == []


CASES = [pytest.param(command, state, actor, id=f"{command}-{state[0]}{'-' + state[1] if state[1] else ''}-{actor}")
         for command in EXPECTED for state in STATES for actor in ACTORS]


@pytest.mark.parametrize(("command", "state", "actor"), CASES)
def test_step(world, command, state, actor):
    dossier_id = world.run(put_dossier(world, state))
    result = send(world, actor, dossier_id, command, args_for(world, command))
    expected = outcome(command, state, actor)
    if isinstance(expected, str):
        assert_refused(world, dossier_id, result, expected, state)
        return
    assert result["status"] == "applied", result
    dossier, events = row_of(world, dossier_id)
    assert (dossier.status, dossier.substatus) == expected
    assert dossier.version == 4 and result["version"] == 4
    assert events == [(command, state[0], expected[0])]


# -- the extra conditions of docs/workflow.md, one case each ----------------------------------------------

NEEDS_REASON = [command for command, expected in EXPECTED.items() if expected.needs_reason]


@pytest.mark.parametrize("command", NEEDS_REASON)
def test_a_step_that_needs_a_reason_is_refused_without_one(world, command):
    state = next(state for state in EXPECTED[command].from_states if state not in EXPECTED[command].refused_in)
    dossier_id = world.run(put_dossier(world, state))
    result = send(world, "leader", dossier_id, command, args_for(world, command, reason=False))
    assert_refused(world, dossier_id, result, "reason_required", state)
    blank = {**args_for(world, command), "reason": "   "}
    assert_refused(world, dossier_id, send(world, "leader", dossier_id, command, blank), "reason_required", state)


ASSIGNED_STEPS = [(command, state) for command, expected in EXPECTED.items() if "specialist" in expected.roles
                  for state in expected.from_states[:1]]


@pytest.mark.parametrize(("command", "state"), [pytest.param(c, s, id=f"{c}-{s[0]}") for c, s in ASSIGNED_STEPS])
def test_a_specialist_other_than_the_assignee_is_refused_but_the_assignee_and_the_leader_are_not(world, command, state):
    assigned = {"assigned_to": world.users["specialist2"]}
    dossier_id = world.run(put_dossier(world, state, **assigned))
    result = send(world, "specialist", dossier_id, command, args_for(world, command))
    assert_refused(world, dossier_id, result, "not_assigned", state)
    assert send(world, "specialist2", dossier_id, command, args_for(world, command))["status"] == "applied"
    other = world.run(put_dossier(world, state, **assigned))
    assert send(world, "leader", other, command, args_for(world, command))["status"] == "applied"


# Officer steps from a received dossier on (a transfer needs one): the first state each applies from.
TRANSFERRED_STEPS = [(command, expected.from_states[0]) for command, expected in EXPECTED.items()
                     if expected.roles & {"intake", "leader"} and expected.from_states[0][0] >= 2]


@pytest.mark.parametrize(("command", "state"), [pytest.param(c, s, id=f"{c}-{s[0]}") for c, s in TRANSFERRED_STEPS])
def test_after_a_transfer_the_receiving_unit_only_returns_and_records_the_post(world, command, state):
    forwarded = {"handling_unit_id": world.unit_ids[PHU_THO]}
    dossier_id = world.run(put_dossier(world, state, **forwarded))
    result = send(world, "leader", dossier_id, command, args_for(world, command))
    if command in ("return", "record_postal"):  # either unit may (docs/workflow.md "Transfer")
        assert result["status"] == "applied", result
    else:
        assert_refused(world, dossier_id, result, "transferred", state)


@pytest.mark.parametrize(("command", "state"), [("receive", (1, None)), ("accept_supplement", R5),
                                                ("accept_supplement", S5)])
def test_a_dossier_is_not_received_or_its_supplement_accepted_while_a_page_is_still_uploading(world, command, state):
    from server.models import Attachment

    dossier_id = world.run(put_dossier(world, state))
    page = world.run(Attachment.create(id=str(uuid.uuid4()), dossier_id=dossier_id, uploader_id=world.users["owner"],
                                       document="Tờ khai", sha256="0" * 64, size=1000, status="pending"))
    assert_refused(world, dossier_id, send(world, "intake", dossier_id, command, {}), "files_pending", state)
    page.status = "verified"
    world.run(page.save())
    assert send(world, "intake", dossier_id, command, {})["status"] == "applied"


def test_the_apology_with_a_new_appointment_is_allowed_once(world):
    state = (4, None)
    apologised = {"apology_sent_at": datetime.now(timezone.utc).isoformat()}
    dossier_id = world.run(put_dossier(world, state, **apologised))
    result = send(world, "leader", dossier_id, "apologise", args_for(world, "apologise"))
    assert_refused(world, dossier_id, result, "apology_already_sent", state)
    dossier_id = world.run(put_dossier(world, state))
    earlier = {**args_for(world, "apologise"), "new_due_at": datetime.now(timezone.utc).isoformat()}
    result = send(world, "leader", dossier_id, "apologise", earlier)
    assert_refused(world, dossier_id, result, "new_due_not_later", state)
