"""Web Push end to end: a status change → the outbox → the worker → a push service that verifies and decrypts.

The push service (tests/push_service.py) is a real HTTP server on loopback; the motcua server runs as a
separate process with its in-process worker (the embedded default), or `motcua worker` processes.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from server.notify.push.delivery import BACKOFF_BASE, backoff, retry_after
from server.notify.push.message import MAX_BODY, MessageBuilder, Notice
from server.notify.push.vapid import VapidSigner, audience
from tests.conftest import ON_POSTGRES, ROOT, VALID_FORM, VINH_YEN, Api, motcua_env, officer_api, run_motcua, start_server, unique_phone
from tests.processes import stop_process
from tests.push_service import PushService, decrypt
from tests.test_sync_http import Device

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")


@pytest.fixture(scope="module")
def push_service():
    with PushService() as service:
        yield service


@pytest.fixture(scope="module")
def push_server(seeded_env, tmp_path_factory):
    """The app on the shared seeded database, allowed to push to the plain-HTTP loopback service."""
    data_dir = Path(seeded_env["MOTCUA_DATA_DIR"])
    env = {**seeded_env, "MOTCUA_PUSH_INSECURE_ENDPOINTS": "1"}
    running = start_server(env, cwd=data_dir.parent, data_dir=data_dir)
    yield running
    running.stop()


def new_citizen(server) -> Api:
    api = Api(server.url)
    response = api.post("/api/accounts", {"phone": unique_phone(), "password": "matkhau-an-toan",
                                          "full_name": "Nguyễn Thị Hoa"})
    assert response.status_code == 201, response.text
    return api


def subscribe(api: Api, subscription, **extra) -> dict:
    response = api.post("/api/push/subscriptions", {**subscription.to_json(), "label": "Chrome trên Android", **extra})
    assert response.status_code == 201, response.text
    return response.json()


def file_dossier(citizen: Api) -> str:
    response = citizen.post("/api/dossiers", {"procedure_code": "TEST.0001", "unit_code": VINH_YEN,
                                              "data": VALID_FORM, "submit": True})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def command(officer: Device, dossier_id: str, name: str, **args) -> dict:
    result = officer.sync([officer.mutation("command", dossier_id, command=name, args=args)]).json()["results"][0]
    assert result["status"] == "applied", result
    return result


def test_a_received_dossier_reaches_the_citizen_verified_decrypted_and_once(push_server, push_service):
    citizen, intake = new_citizen(push_server), officer_api(push_server, "intake")
    phone = push_service.subscribe()
    subscribe(citizen, phone)
    desk = push_service.subscribe()
    subscribe(intake, desk)
    dossier_id = file_dossier(citizen)

    # The intake officer hears of the new online submission first.
    officer_push = push_service.wait_for(lambda got: any(r.token == desk.token and r.payload and
                                                         r.payload["url"].endswith(dossier_id) for r in got))
    new = [r for r in officer_push if r.token == desk.token and r.payload["url"].endswith(dossier_id)]
    assert new[0].payload["title"] == "Hồ sơ trực tuyến mới" and "Vui lòng tiếp nhận" in new[0].payload["body"]

    officer = Device(intake)
    command(officer, dossier_id, "receive")
    push_service.wait_for(lambda got: any(r.token == phone.token for r in got))
    [request] = push_service.for_token(phone.token)
    assert request.status == 201 and not request.error
    assert request.claims["aud"] == push_service.origin and request.claims["sub"].startswith("mailto:")
    assert request.claims["k"] == citizen.get("/api/push/key").json()["public_key"]
    payload = request.payload
    assert payload["title"] == "Hồ sơ đã được tiếp nhận" and "đã được tiếp nhận" in payload["body"]
    assert payload["url"] == f"/app#/d/{dossier_id}"
    due_at = citizen.get(f"/api/dossiers/{dossier_id}").json()["due_at"]
    if due_at:  # the appointment date, as a person in Vietnam reads it
        day = datetime.fromisoformat(due_at).astimezone(VIETNAM).strftime("%d/%m/%Y")
        assert f"Ngày hẹn trả kết quả: {day}" in payload["body"]
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,32}", request.headers["topic"]) and payload["tag"] == request.headers["topic"]
    assert int(request.headers["ttl"]) == 7 * 24 * 3600 and request.headers["urgency"] == "normal"
    assert request.headers["content-encoding"] == "aes128gcm" and request.body_length <= MAX_BODY

    # A later step is delivered too, and by then the first was still sent only once.
    command(officer, dossier_id, "request_supplement", reason="Thiếu bản sao giấy khai sinh của con")
    push_service.wait_for(lambda got: len([r for r in got if r.token == phone.token]) >= 2)
    requests = push_service.for_token(phone.token)
    assert [r.payload["title"] for r in requests] == ["Hồ sơ đã được tiếp nhận", "Cần bổ sung hồ sơ"]
    assert "Thiếu bản sao giấy khai sinh của con" in requests[1].payload["body"]
    assert requests[1].headers["urgency"] == "high" and requests[1].headers["topic"] == request.headers["topic"]
    [device] = citizen.get("/api/push/subscriptions").json()["items"]
    assert device["last_success_at"] and device["label"] == "Chrome trên Android"


@pytest.mark.parametrize("gone", [404, 410])
def test_a_subscription_the_service_says_is_gone_is_removed(push_server, push_service, gone):
    citizen = new_citizen(push_server)
    phone = push_service.subscribe(gone)
    subscribe(citizen, phone)
    dossier_id = file_dossier(citizen)
    command(Device(officer_api(push_server, "intake")), dossier_id, "receive")
    push_service.wait_for(lambda got: any(r.token == phone.token for r in got))
    assert push_service.for_token(phone.token)[0].status == gone
    wait_until(lambda: citizen.get("/api/push/subscriptions").json()["items"] == [])
    # The notice stays in the inbox for when the person opens the app.
    assert citizen.get("/api/notices").json()["items"][0]["title"] == "Hồ sơ đã được tiếp nhận"


@pytest.mark.parametrize("busy", [429, 500, 503])
def test_a_busy_service_is_tried_again_after_its_retry_after_and_delivers_once(push_server, push_service, busy):
    citizen = new_citizen(push_server)
    phone = push_service.subscribe((busy, {"Retry-After": "1"}))
    subscribe(citizen, phone)
    dossier_id = file_dossier(citizen)
    officer = Device(officer_api(push_server, "intake"))
    command(officer, dossier_id, "receive")
    push_service.wait_for(lambda got: len([r for r in got if r.token == phone.token]) >= 2)
    first, second = push_service.for_token(phone.token)[:2]
    assert (first.status, second.status) == (busy, 201)
    assert second.at - first.at >= 0.9  # not before the Retry-After
    assert first.payload == second.payload
    command(officer, dossier_id, "request_supplement", reason="Thiếu ảnh chân dung")
    push_service.wait_for(lambda got: any(r.token == phone.token and r.payload and r.payload["title"] == "Cần bổ sung hồ sơ"
                                          for r in got))
    titles = [r.payload["title"] for r in push_service.for_token(phone.token) if r.status == 201]
    assert titles == ["Hồ sơ đã được tiếp nhận", "Cần bổ sung hồ sơ"]


def test_a_refusal_carries_its_reason_and_a_long_reason_still_fits_4_kb(push_server, push_service):
    citizen = new_citizen(push_server)
    phone = push_service.subscribe()
    subscribe(citizen, phone)
    dossier_id = file_dossier(citizen)
    reason = "Hồ sơ không thuộc thẩm quyền giải quyết của phường; đề nghị nộp tại Sở Tư pháp tỉnh Phú Thọ. " * 20
    command(Device(officer_api(push_server, "intake")), dossier_id, "refuse", reason=reason[:2000])
    push_service.wait_for(lambda got: any(r.token == phone.token for r in got))
    [request] = push_service.for_token(phone.token)
    assert request.status == 201 and request.body_length <= MAX_BODY
    assert request.payload["title"] == "Hồ sơ không được tiếp nhận"
    assert request.payload["body"].startswith("Hồ sơ “") and "Lý do: Hồ sơ không thuộc thẩm quyền" in request.payload["body"]


def test_an_english_reader_gets_english(push_server, push_service):
    citizen = new_citizen(push_server)
    phone = push_service.subscribe()
    subscribe(citizen, phone, locale="en")
    dossier_id = file_dossier(citizen)
    command(Device(officer_api(push_server, "intake")), dossier_id, "receive")
    push_service.wait_for(lambda got: any(r.token == phone.token for r in got))
    payload = push_service.for_token(phone.token)[0].payload
    assert payload["title"] == "Dossier received" and "has been received" in payload["body"]


def wait_until(condition, timeout: float = 30.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.1)  # polling a condition, not waiting for a fixed time


# -- the message itself, without a server ---------------------------------------------------------------------

def test_the_message_fits_4096_bytes_and_decrypts_with_the_subscription_key():
    from webpush.vapid import VAPID

    private, public, _ = VAPID.generate_keys()
    signer = VapidSigner(private, public, "mailto:motcua@example.gov.vn")
    with PushService() as service:
        subscription = service.subscribe()
        keys = subscription.to_json()["keys"]
        notice = Notice("Cần bổ sung hồ sơ", "Thiếu giấy tờ: " + "Bản sao trích lục khai sinh có chứng thực; " * 200,
                        "/app#/d/x", "abc", 86400, "high")
        request = MessageBuilder(signer).build(notice, subscription.endpoint, keys["p256dh"], keys["auth"])
        assert len(request.body) <= MAX_BODY
        import json

        payload = json.loads(decrypt(request.body, subscription.private_key, subscription.auth))
        assert payload["title"] == "Cần bổ sung hồ sơ" and payload["body"].endswith("…") and payload["tag"] == "abc"
        claims = service.verify_vapid(request.headers["Authorization"])
        assert claims["aud"] == service.origin
    with pytest.raises(ValueError):
        MessageBuilder(signer).build(Notice("t", "b", "/", "not a topic!", 60), subscription.endpoint,
                                     keys["p256dh"], keys["auth"])


def test_backoff_follows_retry_after_and_otherwise_doubles_to_a_cap():
    assert audience("https://fcm.googleapis.com/fcm/send/abc") == "https://fcm.googleapis.com"
    assert audience("http://127.0.0.1:8123/push/x") == "http://127.0.0.1:8123"
    assert retry_after("120") == 120 and retry_after(None) is None and retry_after("soon") is None
    assert backoff(3, retry_after_seconds=5) == 5
    assert 0.8 * BACKOFF_BASE <= backoff(1) <= 1.2 * BACKOFF_BASE
    assert 0.8 * 4 * BACKOFF_BASE <= backoff(3) <= 1.2 * 4 * BACKOFF_BASE
    assert backoff(40) <= 1.2 * 6 * 3600


# -- two `motcua worker` processes on one outbox ---------------------------------------------------------------

def queue_notices(database_url: str, subscriptions: list[dict], notices: int) -> None:
    """Write the outbox directly, as many status changes would: `notices` notices × every subscription."""
    from server import db
    from server.models import Notification, PushJob, PushSubscription, User

    async def go():
        from tortoise import Tortoise

        await Tortoise.init(config=db.tortoise_config(_FakeSettings(database_url)))
        try:
            user = await User.create(phone=unique_phone(), full_name="Người thử", full_name_folded="nguoi thu",
                                     password_hash="x")
            subs = [await PushSubscription.create(user=user, endpoint=s["endpoint"], p256dh=s["keys"]["p256dh"],
                                                  auth=s["keys"]["auth"]) for s in subscriptions]
            now = datetime.now(ZoneInfo("UTC"))
            for n in range(notices):
                notice = await Notification.create(user=user, kind="received", title=f"Thông báo {n}", body=f"số {n}",
                                                   url="/app#/inbox", topic=f"t{n}")
                await PushJob.bulk_create([PushJob(notification_id=notice.id, subscription_id=s.id, next_attempt_at=now)
                                           for s in subs])
        finally:
            await Tortoise.close_connections()

    asyncio.run(go())


class _FakeSettings:
    def __init__(self, database_url: str) -> None:
        self.database_url = database_url


def test_two_workers_share_the_outbox_and_never_send_a_job_twice(fresh_database, tmp_path, push_service):
    env = motcua_env(tmp_path / "data", fresh_database(), MOTCUA_PUSH_WORKER="external")
    run_motcua(["migrate"], env)
    phones = [push_service.subscribe() for _ in range(4)]
    phones.append(push_service.subscribe((500, {"Retry-After": "1"})))  # one retried on the way
    queue_notices(env["DATABASE_URL"], [p.to_json() for p in phones], 100)
    workers = [subprocess.Popen([sys.executable, "-m", "server.cli", "worker", "--until-idle", "--concurrency", "8"],
                                env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
               for _ in range(2)]
    try:
        outputs = [w.communicate(timeout=120)[0] for w in workers]
    finally:
        for w in workers:
            stop_process(w)
    tokens = {p.token for p in phones}
    # Until idle means: nothing due now. Jobs retried after the 500 may still wait their Retry-After (and backoff):
    # a third worker, left running, takes them when they fall due.
    last = subprocess.Popen([sys.executable, "-m", "server.cli", "worker"], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        push_service.wait_for(lambda got: len({(r.token, r.payload["title"]) for r in got
                                               if r.token in tokens and r.status == 201}) == 500, timeout=90)
    finally:
        stop_process(last)
    delivered = [(r.token, r.payload["title"]) for r in push_service.received if r.token in tokens and r.status == 201]
    assert len(delivered) == len(set(delivered)) == 500, outputs
    sent_by = [int(re.search(r"after sending (\d+)", out).group(1)) for out in outputs]
    assert all(count > 0 for count in sent_by), outputs  # both took part


def test_claims_made_at_the_same_moment_take_disjoint_jobs(fresh_database, tmp_path, push_service):
    """Four claimers at once over one outbox (on PostgreSQL, four connections: FOR UPDATE SKIP LOCKED)."""
    from tortoise import Tortoise

    from server import db
    from server.models import PushJob
    from server.notify.push.worker import SENDING, claim

    env = motcua_env(tmp_path / "data", fresh_database(), MOTCUA_PUSH_WORKER="external")
    run_motcua(["migrate"], env)
    queue_notices(env["DATABASE_URL"], [push_service.subscribe().to_json(), push_service.subscribe().to_json()], 150)

    async def go() -> tuple[list[list[int]], int]:
        await Tortoise.init(config=db.tortoise_config(_FakeSettings(env["DATABASE_URL"])))
        try:
            batches = await asyncio.gather(*(claim(100) for _ in range(4)))
            return batches, await PushJob.filter(status=SENDING).count()
        finally:
            await Tortoise.close_connections()

    batches, sending = asyncio.run(go())
    taken = [job for batch in batches for job in batch]
    assert len(taken) == len(set(taken)) == sending
    if ON_POSTGRES:  # rows locked by one claimer are skipped by the others, which take the next ones
        # (how the 300 split among the four depends on when each statement met the others' locks)
        assert sending == 300 and all(len(batch) <= 100 for batch in batches)
    else:  # one writer at a time: every job claimed once, the losers of a race take what is left
        assert sending >= 100
