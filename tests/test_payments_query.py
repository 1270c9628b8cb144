"""The gateway's status query (VNPAY querydr; docs/payments.md "Gateway", "Lost notifications"), end to end against
the loopback gateway process (tests/vnpay_gateway.py), which checks our signed query and signs its answers: a paid
order whose notification was lost is confirmed by the query, once, as the notification would have; an answer with a
signature not the gateway's, or saying the order is not paid, changes nothing."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.conftest import run_motcua, start_server
from tests.test_payments_gateway import SECRET, TMN, awaiting, gateway, simulate, start, status  # noqa: F401


@pytest.fixture(scope="module")
def querying_server(seeded_env, gateway):  # noqa: F811 - the fixture imported above
    """An instance on the suite's database with the gateway and its merchant API configured."""
    data_dir = Path(seeded_env["MOTCUA_DATA_DIR"])
    env = {**seeded_env, "VNPAY_URL": gateway + "/paymentv2/vpcpay.html", "VNPAY_TMN_CODE": TMN,
           "VNPAY_HASH_SECRET": SECRET, "VNPAY_API_URL": gateway + "/merchant_webapi/api/transaction"}
    running = start_server(env, cwd=data_dir.parent, data_dir=data_dir)
    running.query_env = env
    yield running
    running.stop()


def query_pending(server) -> str:
    return run_motcua(["payments", "query-pending", "--older-than", "0"], server.query_env).stdout


def queries(gateway: str) -> dict[str, int]:  # noqa: F811
    return httpx.get(gateway + "/queries").json()


def paid_at_the_gateway(server, gateway, **options):  # noqa: F811
    """A dossier whose order the citizen paid at the gateway, with its notification lost (never sent)."""
    phone, dossier_id = awaiting(server)
    url, txn = start(phone, dossier_id)
    assert httpx.get(url).status_code == 200  # the gateway took the order
    simulate(gateway, server, txn, times=0, **options)
    return phone, dossier_id, txn


def test_a_lost_notification_is_made_good_by_the_query_once(querying_server, gateway):  # noqa: F811
    phone, dossier_id, txn = paid_at_the_gateway(querying_server, gateway)
    assert status(phone, dossier_id)["status"] == 6
    done = query_pending(querying_server)
    assert "confirmed paid" in done and queries(gateway)[txn] == 1
    paid = status(phone, dossier_id)
    assert (paid["status"], paid["channel"]) == (4, "gateway") and paid["reference"].startswith("vnpay ")

    # The notification arrives late, twice: already confirmed, paid once.
    reference = paid["reference"]
    assert [a["RspCode"] for a in simulate(gateway, querying_server, txn, times=2)["ipn"]] == ["02", "02"]
    # A second run does not ask about it again (no longer pending).
    query_pending(querying_server)
    assert queries(gateway)[txn] == 1
    assert status(phone, dossier_id)["reference"] == reference


def test_an_answer_not_signed_by_the_gateway_is_ignored(querying_server, gateway):  # noqa: F811
    phone, dossier_id, txn = paid_at_the_gateway(querying_server, gateway, tamper_query=True)
    query_pending(querying_server)
    assert queries(gateway)[txn] == 1 and status(phone, dossier_id)["status"] == 6
    # The real notification still pays.
    assert simulate(gateway, querying_server, txn)["ipn"][0]["RspCode"] == "00"
    assert status(phone, dossier_id)["status"] == 4


def test_an_unpaid_order_stays_pending(querying_server, gateway):  # noqa: F811
    phone, dossier_id = awaiting(querying_server)
    url, txn = start(phone, dossier_id)
    assert httpx.get(url).status_code == 200
    query_pending(querying_server)
    assert queries(gateway)[txn] == 1 and status(phone, dossier_id)["status"] == 6
    # Paid later, the notification pays as ever.
    assert simulate(gateway, querying_server, txn)["ipn"][0]["RspCode"] == "00"
    assert status(phone, dossier_id)["status"] == 4


def test_a_failed_payment_stays_unpaid(querying_server, gateway):  # noqa: F811
    phone, dossier_id, txn = paid_at_the_gateway(querying_server, gateway, response_code="24")
    query_pending(querying_server)
    assert queries(gateway)[txn] >= 1 and status(phone, dossier_id)["status"] == 6


def test_the_return_asks_the_gateway_when_no_notification_came(querying_server, gateway):  # noqa: F811
    phone, dossier_id = awaiting(querying_server)
    url, txn = start(phone, dossier_id)
    assert httpx.get(url).status_code == 200
    answer = simulate(gateway, querying_server, txn, times=0)
    back = httpx.get(answer["return_url"], follow_redirects=False)
    assert (back.status_code, back.headers["location"]) == (303, f"/app#/d/{dossier_id}")
    assert queries(gateway)[txn] == 1 and status(phone, dossier_id)["status"] == 4
    # The same return again: nothing pending, nothing asked, paid once.
    httpx.get(answer["return_url"], follow_redirects=False)
    assert queries(gateway)[txn] == 1


def test_the_command_needs_the_merchant_api(paying_server_env):
    refused = run_motcua(["payments", "query-pending"], paying_server_env, check=False)
    assert refused.returncode != 0 and "VNPAY_API_URL" in refused.stderr


@pytest.fixture
def paying_server_env(seeded_env, gateway):  # noqa: F811
    return {**seeded_env, "VNPAY_URL": gateway + "/paymentv2/vpcpay.html", "VNPAY_TMN_CODE": TMN,
            "VNPAY_HASH_SECRET": SECRET}


def test_the_signed_texts_follow_vnpays_documented_order():
    """Pinned by hand-written texts (not rebuilt from the same field lists): the request's nine values and the
    answer's fifteen, absent ones signed as empty."""
    import hashlib
    import hmac

    from server.payments.vnpay import ANSWER_FIELDS, QUERY_FIELDS, piped_hash

    def mac(text: str) -> str:
        return hmac.new(b"k", text.encode(), hashlib.sha512).hexdigest()

    request = {name: name.removeprefix("vnp_") for name in QUERY_FIELDS}
    assert piped_hash("k", request, QUERY_FIELDS) == mac(
        "RequestId|Version|Command|TmnCode|TxnRef|TransactionDate|CreateDate|IpAddr|OrderInfo")
    answer = {name: name.removeprefix("vnp_") for name in ANSWER_FIELDS[:-2]}
    assert piped_hash("k", answer, ANSWER_FIELDS) == mac(
        "ResponseId|Command|ResponseCode|Message|TmnCode|TxnRef|Amount|BankCode|PayDate|TransactionNo|"
        "TransactionType|TransactionStatus|OrderInfo||")
