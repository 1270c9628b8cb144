"""Property (hypothesis, issue 18): whatever happens in whatever order — payments asked for again, officers and
citizens claiming payments, statement lines right and wrong, imported twice, gateway orders and notifications with
any amount, replayed, for unknown orders — a dossier is marked paid only with its evidence: an officer's cash
payment, a statement line matched to it with its fixed fee, or a gateway order of its fee that a verified
notification of success paid. Through the real store, Policy and reconciliation, on the suite's database kind."""

from __future__ import annotations

from datetime import date

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import VINH_YEN
from tests.test_workflow_steps import put_dossier, send, world  # noqa: F401 - the fixture

OFFICERS = ["intake", "specialist", "leader"]
ANYONE = ["owner", "other_citizen", "intake", "specialist", "leader", "other_unit_leader"]


def test_nothing_is_paid_without_its_evidence(world):  # noqa: F811 - the fixture
    from server.models import AdministrativeUnit, Dossier, DossierEvent, PaymentOrder, StatementLine, User
    from server.payments import online
    from server.payments.gateway import Notification
    from server.payments.reconcile import import_lines
    from server.payments.statements import Line

    unit = world.run(AdministrativeUnit.get(id=world.unit_ids[VINH_YEN]))
    importer = world.run(User.get(id=world.users["leader"]))

    seen: set[str] = set()  # the channels payments were recorded by, over all walks: the property is not vacuous

    @settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck), database=None,
              derandomize=True)
    @given(st.data())
    def walk(data):
        dossier_id = world.run(put_dossier(world, (4, None)))
        version = 3
        if data.draw(st.booleans(), label="asked first"):  # most walks start with the fee asked for: walks get deeper
            version = send(world, "leader", dossier_id, "request_payment", {"reason": "Nộp lệ phí"})["version"]
        confirmed: set[str] = set()  # txn refs a verified notification of success was sent for
        cash_by: list[str] = []  # actors whose cash payment_done was applied
        lines: list[Line] = []
        orders: list[str] = []
        paid_events = 0
        for _ in range(data.draw(st.integers(1, 14), label="length")):
            dossier = world.run(Dossier.get(id=dossier_id))
            fee = dossier.fee_amount_vnd
            event = data.draw(st.sampled_from(["request", "cash", "claim_transfer", "claim_gateway", "statement",
                                               "statement_again", "order", "notify", "notify"]), label="event")
            if event == "request":
                args = {"reason": "Nộp lệ phí"} | data.draw(st.sampled_from([{}, {"amount_vnd": 7000}]), label="amt")
                result = send(world, "leader", dossier_id, "request_payment", args, base_version=version)
            elif event == "cash":
                actor = data.draw(st.sampled_from(ANYONE), label="actor")
                result = send(world, actor, dossier_id, "payment_done", {"reference": "BL-1"}, base_version=version)
                if result["status"] == "applied":
                    cash_by.append(actor)
            elif event == "claim_transfer":
                actor = data.draw(st.sampled_from(ANYONE), label="actor")
                line_id = data.draw(st.integers(0, 10_000), label="line")
                result = send(world, actor, dossier_id, "payment_done", {"channel": "transfer",
                                                                         "statement_line": line_id}, base_version=version)
            elif event == "claim_gateway":
                actor = data.draw(st.sampled_from(ANYONE), label="actor")
                order_id = data.draw(st.integers(0, 10_000), label="order")
                result = send(world, actor, dossier_id, "payment_done", {"channel": "gateway",
                                                                         "gateway_order": order_id}, base_version=version)
            elif event in ("statement", "statement_again"):
                if event == "statement_again" and lines:
                    chosen = [data.draw(st.sampled_from(lines), label="again")]
                else:
                    amount = data.draw(st.sampled_from([fee or 15000, (fee or 15000) - 1000, (fee or 15000) + 1,
                                                        15000]), label="line amount")
                    note = data.draw(st.sampled_from([f"chuyen tien {dossier.code}", "khong ghi ma",
                                                      f"{(dossier.code or '').replace('-', ' ')} nop"]), label="note")
                    chosen = [Line(date(2026, 11, 25), max(amount, 1), note,
                                   data.draw(st.sampled_from(["", f"FT{len(lines)}-{dossier_id[:8]}"]), label="ref"))]
                    lines.extend(chosen)
                world.run(import_lines(unit, importer, chosen))
                result = None
            elif event == "order":
                if dossier.fee_amount_vnd:
                    _, order = world.run(online.start_order(dossier, "vnpay"))
                    orders.append(order.txn_ref)
                result = None
            else:  # a verified notification (unverified ones never get past the signature: tests/test_payments_gateway.py)
                ref = data.draw(st.sampled_from(orders) if orders and data.draw(st.integers(0, 3), label="known")
                                else st.just("NO-SUCH"), label="ref")
                amount = data.draw(st.sampled_from([fee, 15000, 1, None]), label="notified amount")
                success = data.draw(st.sampled_from([True, True, False]), label="success")
                answer = world.run(online.notified(Notification(ref, amount, success, "T1")))
                if success and answer == online.CONFIRMED:
                    confirmed.add(ref)
                result = None
            if result is not None and result["status"] == "applied":
                version = result["version"]
            dossier = world.run(Dossier.get(id=dossier_id))
            version = dossier.version
            events = world.run(DossierEvent.filter(dossier_id=dossier_id, action="payment_done").count())
            if events > paid_events:  # a payment was just recorded: with which evidence?
                paid_events = events
                seen.add(dossier.payment_channel)
                assert dossier.paid_at is not None and dossier.status == 4
                if dossier.payment_channel == "cash":
                    assert cash_by and cash_by[-1] in OFFICERS and event == "cash"
                elif dossier.payment_channel == "transfer":
                    assert event in ("statement", "statement_again", "claim_transfer")
                    assert world.run(StatementLine.filter(dossier_id=dossier_id, outcome="paid",
                                                          amount_vnd=dossier.fee_amount_vnd).exists())
                else:
                    assert dossier.payment_channel == "gateway" and event in ("notify", "claim_gateway")
                    paid = world.run(PaymentOrder.filter(dossier_id=dossier_id, status="paid",
                                                         amount_vnd=dossier.fee_amount_vnd).values_list(
                        "txn_ref", flat=True))
                    assert set(paid) & confirmed

    walk()
    assert seen == {"cash", "transfer", "gateway"}, seen
