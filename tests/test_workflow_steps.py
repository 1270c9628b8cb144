"""Every workflow step, allowed and refused, per role (issue 6): the dossier state machine, exhaustively.

EXPECTED below is transcribed from docs/workflow.md (the Steps table and the sections after it), written
independently of server/workflow/policy.py's STEPS. Each case puts one dossier straight into a state (a Dossier row
written through the store's own serialiser) and sends one command through the sync engine's whole write
path (sync.engine.sync_round with the server's TortoiseStore and DossierPolicy, as server/dossiers/sync_routes.py does),
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
# 9 is split too: the specialist's draft awaiting the leader's signature, signed, and (None) finished before
# approval existed.
STATES: list[tuple[int, str | None]] = [(0, None), (1, None), (2, None), (3, None), (4, None), (5, "requested"),
                                        (5, "sent"), (6, None), (7, None), (8, None), (9, None), (9, "drafted"),
                                        (9, "approved"), (10, None)]
R5, S5 = (5, "requested"), (5, "sent")
D9, A9 = (9, "drafted"), (9, "approved")

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
    # Statuses the step keeps when taken from them, while it leads to `to` from the others (published with to null).
    kept_in: tuple[int, ...] = ()


def _all(*statuses: int) -> tuple[tuple[int, str | None], ...]:
    return tuple(state for state in STATES if state[0] in statuses)


EXPECTED: dict[str, Expected] = {
    "submit": Expected(_all(0), frozenset({"owner"}), (1, None)),
    "withdraw": Expected(_all(1, 2, 4, 5, 6), frozenset({"owner"}), (7, None)),
    # From 5 only a dossier guided before reception (put_dossier's 5 was received: already_received).
    "receive": Expected(_all(1, 5), frozenset({"intake", "leader"}), (2, None),
                        refused_in={R5: "already_received", S5: "already_received"}),
    "refuse": Expected(_all(1), frozenset({"intake", "leader"}), (3, None), needs_reason=True),
    "start": Expected(_all(2), frozenset({"specialist", "leader"}), (4, None)),
    "request_supplement": Expected(_all(1, 2, 4, 5), frozenset({"intake", "specialist", "leader"}), R5,
                                   needs_reason=True, refused_in={R5: "supplement_not_sent"}),
    "send_supplement": Expected(_all(5), frozenset({"owner"}), S5, refused_in={S5: "supplement_already_sent"}),
    "accept_supplement": Expected(_all(5), frozenset({"intake", "specialist", "leader"}), (4, None)),
    "request_payment": Expected(_all(4), frozenset({"specialist", "leader"}), (6, None), needs_reason=True),
    # From 2, 4, 5 and 9 only a fee fixed at a field intake is paid (status kept); these dossiers have none.
    "payment_done": Expected(_all(2, 4, 5, 6, 9), frozenset({"intake", "specialist", "leader"}), (4, None),
                             refused_in={state: "nothing_to_pay" for state in _all(2, 4, 5, 9)}, kept_in=(2, 4, 5, 9)),
    "stop": Expected(_all(4, 7), frozenset({"leader"}), (8, None), needs_reason=True),
    # The specialist drafts; a leader's own finish is signed at once (see outcome()). Decree 61/2018 Art. 20,
    # Decree 118/2025: the competent leader signs the result before it is returned (docs/domain.md "Sign-off").
    "finish": Expected(_all(4), frozenset({"specialist", "leader"}), D9),
    "approve": Expected(_all(9), frozenset({"leader"}), A9, refused_in={(9, None): "not_drafted", A9: "not_drafted"}),
    "return": Expected(_all(9), frozenset({"intake", "leader"}), (10, None), refused_in={D9: "not_approved"}),
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
    if command == "finish" and actor == "leader":
        return A9  # a leader signs what they finish
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
        from server.dossiers import store

        for cache in (store._versions, store._version_ids, store._unit_codes):
            cache.clear()  # kept per process for one database: an earlier test's ids mean other rows here
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
    from server.accounts.access import actor_for
    from server.models import User

    return actor_for(world.run(User.get(id=world.users[key])))


async def put_dossier(world: World, state: tuple[int, str | None], **extra: Any) -> str:
    """A dossier of the owner's, filed with Vĩnh Yên, straight in `state`, with what that state implies."""
    from server.dossiers.store import FORM_PREFIX, save_dossier_record
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
    elif command == "return":
        args["received_by"] = "Nguyễn Thị Mai"  # who collects the result at the desk
    elif command == "apologise":
        args["new_due_at"] = (datetime.now(timezone.utc) + timedelta(days=20)).isoformat()
    return args


def send(world: World, actor_key: str, dossier_id: str, command: str, args: dict[str, Any],
         base_version: int = 3) -> dict[str, Any]:
    """One sync round from the actor's device carrying one command, as POST /api/sync runs it."""
    from server.dossiers.store import TortoiseStore
    from server.workflow.policy import DossierPolicy
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


# The first state each applies from (one where it is not refused for a reason of its own: payment_done from 2).
ASSIGNED_STEPS = [(command, next(state for state in expected.from_states if state not in expected.refused_in))
                  for command, expected in EXPECTED.items() if "specialist" in expected.roles]


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


def test_the_published_workflow_is_this_table():
    """GET /api/workflow (server/workflow/routes.py) publishes the same steps as EXPECTED, from the policy's own data."""
    from server.workflow.routes import workflow_json

    published = workflow_json()
    assert [s["code"] for s in published["statuses"]] == list(range(11))
    steps = {row["command"]: row for row in published["steps"]}
    assert set(steps) == set(EXPECTED)
    for command, expected in EXPECTED.items():
        row = steps[command]
        assert set(row["from"]) == {state[0] for state in expected.from_states}, command
        assert set(row["roles"]) == expected.roles, command
        assert row["needs_reason"] == expected.needs_reason, command
        if expected.kept_in:  # leads to one status from some, keeps it from others: no single "to"
            assert (row["to"], row["keeps_status"]) == (None, False), command
        elif expected.to is KEEP:
            assert row["keeps_status"], command
        else:
            assert (row["to"], row["substatus"]) == expected.to, command


# -- reception comes before processing (docs/domain.md "Incomplete walk-in dossiers") ------------------------

@pytest.mark.parametrize("state", [R5, S5])
def test_a_supplement_asked_before_reception_ends_in_reception_with_code_receipt_and_appointment(world, state):
    """Decree 61/2018 Art. 19(1)(b) / Decree 118/2025: an incomplete dossier is guided once on form 02 of
    Circular 03/2025 before reception; only a complete dossier is received, with its code, receipt and appointment.
    Issue 14 item 1: submit → request_supplement → send_supplement → accept_supplement ended in 4 without any."""
    dossier_id = world.run(put_dossier(world, state, code=None, received_at=None, due_at=None,
                                       clock_paused_at=None))
    assert_refused(world, dossier_id, send(world, "intake", dossier_id, "accept_supplement", {}), "not_received",
                   state)
    assert send(world, "intake", dossier_id, "receive", {})["status"] == "applied"
    dossier, events = row_of(world, dossier_id)
    assert (dossier.status, dossier.substatus) == (2, None)
    assert dossier.code and dossier.received_at and dossier.due_at
    assert events == [("receive", 5, 2)]


# The statuses reached only through reception: each needs the code, the receipt time and the appointment.
AFTER_RECEPTION = {2, 4, 6, 9, 10}


def _check_received(world: World, dossier_id: str, history: list) -> None:
    from server.models import Dossier

    dossier = world.run(Dossier.get(id=dossier_id))
    if dossier.status in AFTER_RECEPTION or dossier.received_at is not None or dossier.code is not None:
        assert dossier.code and dossier.received_at and dossier.due_at, (dossier.status, history)


COMMANDS = sorted(EXPECTED)


def test_no_dossier_is_ever_past_reception_without_code_receipt_and_appointment(world):
    """Property (hypothesis): random step sequences by random actors through the real store and Policy never leave
    a dossier in 2, 4, 6, 9 or 10 (or holding a code or receipt time) without its code, receipt and appointment
    (Decree 61/2018 Art. 19; Decree 118/2025; Circular 03/2025 form 01: no reception without a receipt)."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    anyone = st.sampled_from(["owner", "intake", "specialist", "leader"])

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(st.data())
    def walk(data):
        from server.models import Dossier

        dossier_id = world.run(put_dossier(world, (0, None)))
        version, history = 3, []
        for _ in range(data.draw(st.integers(1, 16), label="length")):
            status = world.run(Dossier.get(id=dossier_id)).status
            # Mostly a step the table allows from here, by an actor it names (so walks get deep); sometimes any
            # step by anyone (so refusals are walked too).
            possible = [c for c in COMMANDS if status in {s for s, _ in EXPECTED[c].from_states}] or COMMANDS
            command = data.draw(st.sampled_from(possible) | st.sampled_from(COMMANDS), label="command")
            actor = data.draw(st.sampled_from(sorted(EXPECTED[command].roles)) | anyone, label="actor")
            result = send(world, actor, dossier_id, command, args_for(world, command), base_version=version)
            if result["status"] == "applied":
                version = result["version"]
                history.append((command, actor))
            _check_received(world, dossier_id, history)

    walk()


# -- approval and return (docs/workflow.md "Approval and return") -------------------------------------------

def test_the_return_records_who_received_the_result(world):
    """Decree 61/2018 Art. 27 / Decree 118/2025 (return of the result; the hand-over is recorded and signed by the
    receiver, docs/domain.md "Sign-off"): a desk return needs the receiver's name; it is kept and noted."""
    dossier_id = world.run(put_dossier(world, A9))
    assert_refused(world, dossier_id, send(world, "intake", dossier_id, "return", {}), "receiver_required", A9)
    assert send(world, "intake", dossier_id, "return", {"received_by": "Trần Văn Nam"})["status"] == "applied"
    dossier, _ = row_of(world, dossier_id)
    from server.models import DossierEvent

    note = world.run(DossierEvent.get(dossier_id=dossier_id, action="return")).note
    assert (dossier.status, dossier.returned_to, note) == (10, "Trần Văn Nam", "Người nhận kết quả: Trần Văn Nam")


def test_a_specialists_draft_is_returned_only_once_a_leader_approved_it(world):
    """Decree 61/2018 Art. 20 / Decree 118/2025: the specialist appraises and drafts, a leader of the competent body
    signs, then the centre returns (docs/domain.md "Sign-off")."""
    dossier_id = world.run(put_dossier(world, (4, None)))
    assert send(world, "specialist", dossier_id, "finish", {})["status"] == "applied"
    assert send(world, "intake", dossier_id, "return", args_for(world, "return"), base_version=4)["code"] == \
        "not_approved"
    assert send(world, "specialist", dossier_id, "approve", {}, base_version=4)["code"] == "forbidden"
    from server.models import Notification

    told = lambda: world.run(Notification.filter(dossier_id=dossier_id, kind="result_ready").count())  # noqa: E731
    assert told() == 0  # a draft is not a result yet
    assert send(world, "leader", dossier_id, "approve", {}, base_version=4)["status"] == "applied"
    assert told() == 1  # the citizen is told once it is signed
    dossier, _ = row_of(world, dossier_id)
    assert (dossier.substatus, dossier.approved_by) == ("approved", world.users["leader"]) and dossier.approved_at
    assert send(world, "intake", dossier_id, "return", args_for(world, "return"), base_version=5)["status"] == \
        "applied"


def test_on_a_4_tai_cho_procedure_the_intake_officer_appraises_approves_and_returns_on_the_spot(world):
    """"4 tại chỗ" (docs/domain.md "Sign-off"): on a procedure the province designates (catalog flag on_the_spot),
    one authorised officer receives, appraises, approves and returns on the spot; elsewhere the intake officer may
    not process."""
    from server.models import Procedure

    elsewhere = world.run(put_dossier(world, (2, None)))
    assert_refused(world, elsewhere, send(world, "intake", elsewhere, "start", {}), "forbidden", (2, None))
    world.run(Procedure.filter(code="TEST.0001").update(on_the_spot=True))
    try:
        dossier_id = world.run(put_dossier(world, (1, None)))
        version = 3
        for command in ("receive", "start", "finish", "return"):
            result = send(world, "intake", dossier_id, command, args_for(world, command), base_version=version)
            assert result["status"] == "applied", (command, result)
            version = result["version"]
        dossier, events = row_of(world, dossier_id)
        assert dossier.status == 10 and dossier.approved_by == world.users["intake"]
        assert [e[0] for e in events] == ["receive", "start", "finish", "return"]
    finally:
        world.run(Procedure.filter(code="TEST.0001").update(on_the_spot=False))
