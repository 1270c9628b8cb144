"""Property-based tests of the whole protocol (docs/sync.md §3).

Several devices — citizen An on a phone and a tablet, citizen Bình on a
phone, officer Cường on a tablet in the field — edit, create, submit and
resolve offline, and talk to the server through a network that loses
requests, loses responses, duplicates, reorders, and a server that dies in
the middle of a request. At the end every device syncs until its outbox is
empty, and the invariants of the protocol must hold.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from sync.conflicts import conflict_id
from sync.cursor import decode_cursor
from sync.engine import sync_round
from sync.memory import MemoryStore, SimulatedCrash
from sync.model import Record
from tests.test_sync_support import FINAL, DossierPolicy, SimDevice, citizen, officer

POLICY = DossierPolicy()
ACCEPTED = frozenset({"applied", "merged", "conflict"})
FORM_FIELDS = ("form.name", "form.address", "form.phone")
CITIZEN_COMMANDS = ("submit", "withdraw")
OFFICER_COMMANDS = ("receive", "start", "request_supplement", "refuse")

SETTINGS = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,  # the same examples on every run: CI stays deterministic
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def make_devices() -> list[SimDevice]:
    return [
        SimDevice("an-phone", citizen("an"), batch=4, limit=3),
        SimDevice("an-tablet", citizen("an"), batch=4, limit=3),
        SimDevice("binh-phone", citizen("binh"), batch=4, limit=3),
        SimDevice("cuong-tablet", officer("cuong", "H57"), batch=4, limit=3),
    ]


# Which dossier ids a device may create: ids come from the device, so two
# devices of one citizen can (rarely) pick the same one — that is "exists".
CREATABLE = {
    "an-phone": ("a1", "a2"),
    "an-tablet": ("a2", "a3"),
    "binh-phone": ("b1",),
    "cuong-tablet": ("f1",),  # field intake for An
}


@dataclass
class World:
    store: MemoryStore = field(default_factory=MemoryStore)
    devices: list[SimDevice] = field(default_factory=make_devices)
    network: list[tuple[SimDevice, int, dict[str, Any]]] = field(default_factory=list)
    delivered: int = 0
    statuses: Counter[str] = field(default_factory=Counter)  # what devices were told

    def device(self, n: int) -> SimDevice:
        return self.devices[n % len(self.devices)]

    async def deliver(
        self, device: SimDevice, request_id: int, body: dict[str, Any], hear: bool = True
    ) -> dict[str, Any] | None:
        """The server handles the request; the device hears the answer if ``hear``."""
        try:
            response = await sync_round(self.store, POLICY, device.actor, body, clock=lambda: "2026-03-02T08:00:00+07:00")
        except SimulatedCrash:
            self.statuses["nothing (server crashed)"] += 1
            return None  # HTTP 500 / connection reset: the device hears nothing
        self.delivered += 1
        # Cursors never go backwards, whatever the request carried.
        assert decode_cursor(response["cursor"]) >= decode_cursor(body["cursor"])
        for result in response["results"]:
            self.statuses[result["status"]] += 1
            assert result["status"] in FINAL | {"held"}
            if result["status"] == "rejected":
                assert result["reason"]["vi"] and result["reason"]["en"] and result["code"]
        if hear:
            device.receive(request_id, response)
        return response

    async def settle(self) -> None:
        """Everything still in flight arrives late; then every device syncs
        over a reliable network until nobody has anything left to say."""
        self.store.crash_at_write = None
        for device, request_id, body in self.network:
            await self.deliver(device, request_id, body)
        self.network.clear()
        # Two passes: the first empties every outbox, the second brings every
        # device the writes of the devices that synced after it.
        for _ in range(2):
            for device in self.devices:
                for _ in range(100):
                    request_id, body = device.request()
                    response = await self.deliver(device, request_id, body)
                    assert response is not None
                    if device.settled() and not response["more"]:
                        break
        for device in self.devices:
            assert device.settled(), device.device_id


# -- the random story ---------------------------------------------------------

KINDS = (
    "create", "edit", "edit", "edit", "edit", "command", "resolve", "resolve", "discard",
    "sync", "sync", "send", "deliver", "deliver", "drop",
)  # fmt: skip
actions = st.lists(
    st.tuples(st.sampled_from(KINDS), st.integers(0, 31), st.integers(0, 31)),
    min_size=30,
    max_size=80,
)


def _dossiers(device: SimDevice) -> list[str]:
    return sorted(record_id for (entity, record_id) in device.view() if entity == "dossier")


def act(world: World, kind: str, a: int, b: int) -> Any:
    """Perform one step; returns an awaitable when the step talks to the server."""
    device = world.device(a)
    if kind == "create":
        choices = [d for d in CREATABLE[device.device_id] if ("dossier", d) not in device.view()]
        if choices:
            dossier_id = choices[b % len(choices)]
            owner = "an" if device.actor.role == "officer" else None
            device.create_dossier(dossier_id, "H57", owner_id=owner, name=device.unique_value())
    elif kind == "edit":
        dossiers = _dossiers(device)
        if dossiers:
            # Mostly the name: edits of one field from two places make conflicts.
            device.edit(dossiers[b % len(dossiers)], FORM_FIELDS[(b // 4) % 4 % 3], device.unique_value())
    elif kind == "command":
        dossiers = _dossiers(device)
        if dossiers:
            commands = OFFICER_COMMANDS if device.actor.role == "officer" else CITIZEN_COMMANDS
            device.command(dossiers[b % len(dossiers)], commands[(a // 4 + b) % len(commands)])
    elif kind == "resolve":
        open_conflicts = sorted(
            key[1] for key, rec in device.view().items() if key[0] == "conflict" and rec["data"]["status"] == "open"
        )
        if open_conflicts:
            chosen = open_conflicts[b % len(open_conflicts)]
            data = device.replica[("conflict", chosen)]["data"]
            value = (data["server_value"], data["device_value"], device.unique_value())[b % 3]
            device.resolve(chosen, value)
    elif kind == "discard":
        if device.outbox:
            device.discard(device.outbox[b % len(device.outbox)]["mutation_id"])
    elif kind == "sync":
        # A round trip that goes well: the everyday case.
        request_id, body = device.request()
        return world.deliver(device, request_id, body)
    elif kind == "send":
        # Usually the whole outbox from the start; sometimes a later chunk
        # only, as a client sending chunks in parallel would: that makes gaps.
        start = 1 if b % 5 == 4 and len(device.outbox) > 1 else 0
        request_id, body = device.request(start)
        world.network.append((device, request_id, body))
    elif kind in ("deliver", "drop") and world.network:
        index = a % len(world.network)
        target, request_id, body = world.network[index]
        if kind == "drop":
            world.network.pop(index)  # the request never reached the server
            return None
        fate = b % 10
        if fate != 8:  # 8: duplicated — the same request will arrive again
            world.network.pop(index)
        if fate == 9:
            world.store.crash_at_write = 1 + a % 6
        return world.deliver(target, request_id, body, hear=fate not in (6, 7))  # 6, 7: the answer is lost
    return None


async def prologue(world: World) -> None:
    """A shared starting point, so that every story has something to edit:
    An's two drafts, Bình's submitted dossier, a field-intake dossier for An
    at Cường's unit; everybody has pulled them."""
    an_phone, _, binh_phone, cuong = world.devices
    an_phone.create_dossier("a1", "H57", name="Nguyễn Văn An", address="Thôn 1", phone="0912345678")
    an_phone.create_dossier("a2", "H57", name="Nguyễn Văn An", address="Thôn 1")
    binh_phone.create_dossier("b1", "H57", name="Trần Thị Bình", address="Thôn 3")
    binh_phone.command("b1", "submit")
    cuong.create_dossier("f1", "H57", owner_id="an", name="Nguyễn Văn An", address="Thôn 1")
    for device in world.devices + world.devices:
        request_id, body = device.request()
        await world.deliver(device, request_id, body)


async def play(story: list[tuple[str, int, int]]) -> World:
    world = World()
    await prologue(world)
    for kind, a, b in story:
        step = act(world, kind, a, b)
        if step is not None:
            await step
        world.store.crash_at_write = None  # a crash is for the request it was armed for
    await world.settle()
    return world


# -- the invariants -------------------------------------------------------------


def outcomes_by_id(world: World) -> dict[str, Any]:
    return {r.mutation_id: r for r in world.store.outcomes() if r.mutation_id is not None}


def check_at_most_once(world: World) -> None:
    """Every effect of one mutation was written by one transaction, and only
    mutations that were accepted left effects."""
    outcomes = outcomes_by_id(world)
    transactions: dict[str, set[int]] = {}
    for entry in world.store.change_log():
        assert entry.mutation_id is not None
        transactions.setdefault(entry.mutation_id, set()).add(entry.transaction)
    for mutation_id, written_by in transactions.items():
        assert len(written_by) == 1, mutation_id
        assert outcomes[mutation_id].status in ACCEPTED | {"applied"}, mutation_id


def check_exactly_once(world: World) -> None:
    outcomes = outcomes_by_id(world)
    assert not [r for r in world.store.outcomes() if r.status == "held"]
    for device in world.devices:
        state = world.store.device(device.device_id)
        assert state is not None and state.applied_seq == device.next_seq - 1
        lost_markers = {r.seq for r in world.store.outcomes() if r.device_id == device.device_id and r.mutation_id is None}
        for mutation in device.made:
            outcome = outcomes.get(mutation["mutation_id"])
            if mutation["mutation_id"] in device.discarded:
                # Either it had been applied (the answer was lost) or it never will be.
                assert outcome is not None and outcome.status in FINAL or mutation["seq"] in lost_markers
                continue
            assert outcome is not None and outcome.status in FINAL, mutation
            assert outcome.seq == mutation["seq"]
            # What the device heard is exactly what the server stored.
            assert device.heard[mutation["mutation_id"]] == outcome.result


def check_no_value_dropped(world: World) -> None:
    """Every value an accepted mutation wrote is in the final record, or in a
    conflict record, or was overwritten by a writer who had seen it."""
    outcomes = outcomes_by_id(world)
    records = world.store.records()
    writes: list[tuple[str, str, str, Any, Any]] = []  # (mutation_id, dossier, field, base, value)
    for device in world.devices:
        for m in device.made:
            outcome = outcomes.get(m["mutation_id"])
            if outcome is None or outcome.status not in ACCEPTED:
                continue
            if m["op"] in ("create", "update"):
                for name, change in m["changes"].items():
                    writes.append((m["mutation_id"], m["entity_id"], name, change.get("base"), change["value"]))
            elif m["op"] == "resolve":
                conflict = records[("conflict", m["entity_id"])].data
                change = m["changes"]["value"]
                writes.append((m["mutation_id"], conflict["entity_id"], conflict["field"], change["base"], change["value"]))
    conflicted = {
        (rec.data["mutation_id"], rec.data["field"]): rec.data["device_value"]
        for (entity, _), rec in records.items()
        if entity == "conflict"
    }
    for mutation_id, dossier_id, name, _, value in writes:
        if conflicted.get((mutation_id, name), object()) == value:
            continue
        if records[("dossier", dossier_id)].data.get(name) == value:
            continue
        seen_by = [
            other
            for other, other_dossier, other_name, base, _ in writes
            if other != mutation_id
            and other_dossier == dossier_id
            and other_name == name
            and base == value
            and (other, name) not in conflicted
        ]
        assert seen_by, (mutation_id, dossier_id, name, value)


def visible_state(world: World, device: SimDevice) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        key: {"version": rec.version, "data": rec.data}
        for key, rec in world.store.records().items()
        if rec.scopes & device.actor.scopes
    }


def check_converged(world: World) -> None:
    for device in world.devices:
        assert device.replica == visible_state(world, device), device.device_id


def check_scopes(world: World) -> None:
    """Nobody ever received a record outside their scopes."""
    records = world.store.records()
    for device in world.devices:
        actor = device.actor
        for change in device.received:
            if change["deleted"]:
                assert change["data"] is None
                continue
            data = change["data"]
            if change["entity"] == "dossier":
                assert POLICY.scopes(Record("dossier", change["id"], change["version"], data)) & actor.scopes
            elif change["entity"] == "notification":
                assert data["user_id"] == actor.user_id
            else:
                dossier = records[("dossier", data["entity_id"])].data
                if actor.role == "citizen":
                    assert dossier["owner_id"] == actor.user_id
                else:
                    assert dossier["unit_id"] == actor.unit_id and dossier["status"] != 0


def check_log_complete(world: World) -> None:
    """Every write bumped its record's version by one and logged it, once."""
    logged: dict[tuple[str, str], list[int]] = {}
    for entry in world.store.change_log():
        logged.setdefault((entry.entity, entry.id), []).append(entry.version)
    for key, rec in world.store.records().items():
        assert logged[key] == list(range(1, rec.version + 1)), key


def check_cursors(world: World) -> None:
    for device in world.devices:
        assert device.positions == sorted(device.positions), device.device_id


@SETTINGS
@given(actions)
def test_devices_converge_and_nothing_is_lost_or_applied_twice(story: list[tuple[str, int, int]]) -> None:
    world = asyncio.run(play(story))
    for status in world.statuses:  # see them with --hypothesis-show-statistics
        event(f"device told {status}")
    check_at_most_once(world)
    check_exactly_once(world)
    check_no_value_dropped(world)
    check_converged(world)
    check_scopes(world)
    check_cursors(world)
    check_log_complete(world)


# -- order independence: a device's mutations in any order, any number of times --


@SETTINGS
@given(st.data())
def test_any_delivery_order_gives_the_state_of_seq_order(data: st.DataObject) -> None:
    """Sending a device's mutations one by one in a random order, with random
    repeats, ends in the same records as sending them once in seq order."""
    count = data.draw(st.integers(1, 8), label="mutations")
    steps = data.draw(st.lists(st.tuples(st.sampled_from(FORM_FIELDS), st.integers(0, 3)), min_size=count, max_size=count))
    order = data.draw(st.lists(st.integers(0, count - 1), min_size=count, max_size=3 * count), label="order")

    def script() -> SimDevice:
        device = SimDevice("an-phone", citizen("an"))
        device.create_dossier("a1", "H57", name="An")
        for name, choice in steps:
            if choice == 3:
                device.command("a1", "submit")
            else:
                device.edit("a1", name, f"{name}-{choice}")
        return device

    async def run(order: list[int]) -> dict[tuple[str, str], Record]:
        store = MemoryStore()
        device = script()
        mutations = list(device.outbox)
        for index in order:
            await sync_round(store, POLICY, device.actor, {"device_id": device.device_id, "mutations": [mutations[index]]})
        # Then the device sends what it still has (everything not yet final).
        await sync_round(store, POLICY, device.actor, {"device_id": device.device_id, "mutations": mutations})
        return store.records()

    in_order = asyncio.run(run(list(range(count + 1))))
    shuffled = asyncio.run(run(order))
    assert shuffled == in_order


def test_conflict_ids_are_stable_per_mutation_and_field() -> None:
    # A retried transaction must create the same conflict, not a second one.
    assert conflict_id("m1", "form.name") == conflict_id("m1", "form.name")
    assert conflict_id("m1", "form.name") != conflict_id("m1", "form.phone")
