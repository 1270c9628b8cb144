"""The Zalo OA access token renews itself (server/notify/zalo_tokens.py) against the ZNS stand-in's OAuth endpoint
(tests/zalo_server.py, its own process): before it expires, after a -124, once only when several renew at the same
moment (tasks and processes), kept across a restart, and a refused renewal fails the message without crashing.
SQLite by default; PostgreSQL with DATABASE_URL (tests/conftest.py)."""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import sys
import uuid
from datetime import timedelta
from typing import Any, Awaitable, Callable

import httpx
import pytest
from tortoise import Tortoise
from tortoise.migrations.api import migrate

from server.config import ConfigError, ZaloSettings, load_settings
from server.db import connection_config
from server.models import ZaloToken
from server.notify import zalo, zalo_tokens
from server.notify.outbox import now_utc
from tests.conftest import OFFICER_PASSWORD, OFFICERS, ROOT, SUITE_RATE_LIMITS, motcua_env, run_motcua, start_server
from tests.gateways import ZALO_APP_ID, ZALO_APP_SECRET, ZALO_TEMPLATE, ZALO_TOKEN, ZaloApi
from tests.test_push_delivery import wait_until
from tests.smpp_server import intl, smpp_gateway  # noqa: F401  (a fixture)
from tests.test_notice_channels import channels_of, new_citizen, received_dossier

APPS = {"motcua": {"models": ["server.models"], "migrations": "server.migrations", "default_connection": "default"}}


@pytest.fixture(scope="module")
def zalo_api(tmp_path_factory):
    api = ZaloApi(tmp_path_factory.mktemp("zalo-tokens")).start()
    yield api
    api.stop()


@pytest.fixture
def database(fresh_database) -> str:
    url = fresh_database()
    asyncio.run(migrate(config=_config(url), app_labels=["motcua"]))
    return url


def _config(url: str) -> dict[str, Any]:
    return {"connections": {"default": connection_config(url)}, "apps": APPS}


def on(url: str, body: Callable[[], Awaitable[Any]]) -> Any:
    """Run body with this database connected, as one process's life (connect, work, close)."""
    async def main() -> Any:
        await Tortoise.init(config=_config(url))
        try:
            return await body()
        finally:
            await Tortoise.close_connections()
    return asyncio.run(main())


def settings_for(api: ZaloApi, *, refresh: str, access: str = ZALO_TOKEN) -> ZaloSettings:
    return ZaloSettings(access_token=access, template_id=ZALO_TEMPLATE, api_url=api.url, app_id=ZALO_APP_ID,
                        app_secret=ZALO_APP_SECRET, refresh_token=refresh, oauth_url=api.url + "/v4/oa/access_token")


def seeded(api: ZaloApi) -> str:
    """A refresh token the stand-in accepts once."""
    refresh = "seed-" + uuid.uuid4().hex[:12]
    api.mode(refresh_token=refresh)
    return refresh


def message(phone: str = "0912345678") -> dict[str, object]:
    return {"phone": zalo.zalo_phone(phone), "template_id": ZALO_TEMPLATE,
            "template_data": {"tieu_de": "Hồ sơ", "noi_dung": "Đã có kết quả", "ma_ho_so": "H01"},
            "tracking_id": "n1:zalo:" + uuid.uuid4().hex[:8]}


def renewals_with(api: ZaloApi, refresh: str) -> list[dict]:
    return [r for r in api.renewals() if r["refresh_token"] == refresh]


def test_the_token_is_renewed_before_it_expires_and_used(zalo_api, database):
    refresh = seeded(zalo_api)
    settings = settings_for(zalo_api, refresh=refresh)

    async def body() -> tuple[str, str, zalo.Sent, ZaloToken]:
        async with httpx.AsyncClient() as client:
            first = await zalo_tokens.current_token(client, settings)  # seeded; its expiry is not known
            await ZaloToken.filter(id=1).update(expires_at=now_utc() + timedelta(minutes=30))
            second = await zalo_tokens.current_token(client, settings)
            sent = await zalo_tokens.send(client, settings, message())
        return first, second, sent, await ZaloToken.get(id=1)

    first, second, sent, row = on(database, body)
    assert first == ZALO_TOKEN and second.startswith("zalo-access-")
    [renewal] = renewals_with(zalo_api, refresh)
    assert renewal["error"] == 0 and row.refresh_token == renewal["issued"] and row.access_token == second
    assert row.expires_at is not None and row.expires_at - now_utc() > timedelta(hours=24)  # "expires_in": "90000"
    assert sent.result == zalo.SENT  # with the renewed token, which ZNS takes


def test_a_minus_124_renews_once_and_the_message_goes(zalo_api, database):
    refresh = seeded(zalo_api)
    settings = settings_for(zalo_api, refresh=refresh, access="expired-by-now")

    async def body() -> zalo.Sent:
        async with httpx.AsyncClient() as client:
            return await zalo_tokens.send(client, settings, message("0987654321"))

    sent = on(database, body)
    assert sent.result == zalo.SENT, sent
    assert [r["error"] for r in renewals_with(zalo_api, refresh)] == [0]


def test_an_expired_issued_token_is_refused_then_renewed(zalo_api, database):
    """The stand-in's issued tokens really expire: a 1-second token gets -124, and the next renewal repairs it."""
    refresh = seeded(zalo_api)
    settings = settings_for(zalo_api, refresh=refresh, access="")
    zalo_api.mode(expires_in=1)
    try:
        async def body() -> tuple[str, zalo.Sent, zalo.Sent]:
            async with httpx.AsyncClient() as client:
                token = await zalo_tokens.current_token(client, settings)  # no access token yet: renewed at once
                await asyncio.sleep(1.5)
                refused = await zalo.send(client, settings, message(), token)
                return token, refused, await zalo_tokens.send(client, settings, message())
        token, refused, sent = on(database, body)
    finally:
        zalo_api.mode(expires_in=90000)
    assert token.startswith("zalo-access-") and refused.code == -124
    assert sent.result == zalo.SENT
    assert [r["error"] for r in renewals_with(zalo_api, refresh)] == [0]


def test_two_tasks_renewing_at_once_spend_the_refresh_token_once(zalo_api, database):
    refresh = seeded(zalo_api)
    settings = settings_for(zalo_api, refresh=refresh)
    zalo_api.mode(oauth_delay=0.5)  # the first renewal is still at Zalo when the second asks
    try:
        async def body() -> list[str | None]:
            async with httpx.AsyncClient() as client:
                await zalo_tokens.current_token(client, settings)
                return list(await asyncio.gather(*(zalo_tokens.renew(client, settings, stale=ZALO_TOKEN)
                                                   for _ in range(2))))
        tokens = on(database, body)
    finally:
        zalo_api.mode(oauth_delay=0)
    [renewal] = renewals_with(zalo_api, refresh)
    assert tokens == [renewal["access_token"]] * 2


RENEW_IN_A_PROCESS = """
import asyncio, json, sys
from tortoise import Tortoise
from server.config import ZaloSettings
from server.notify import zalo_tokens
import httpx

async def main():
    config, settings = json.loads(sys.argv[1]), ZaloSettings(**json.loads(sys.argv[2]))
    await Tortoise.init(config=config)
    try:
        async with httpx.AsyncClient() as client:
            print(json.dumps(await zalo_tokens.renew(client, settings, stale=sys.argv[3])))
    finally:
        await Tortoise.close_connections()

asyncio.run(main())
"""


def test_two_processes_renewing_at_once_spend_the_refresh_token_once_and_restart_reads_it(zalo_api, database):
    refresh = seeded(zalo_api)
    settings = settings_for(zalo_api, refresh=refresh)

    async def seed() -> str:
        async with httpx.AsyncClient() as client:
            return await zalo_tokens.current_token(client, settings)

    assert on(database, seed) == ZALO_TOKEN
    zalo_api.mode(oauth_delay=0.5)
    try:
        arguments = [json.dumps(_config(database)), json.dumps(settings.__dict__), ZALO_TOKEN]
        processes = [subprocess.Popen([sys.executable, "-c", RENEW_IN_A_PROCESS, *arguments], cwd=ROOT,
                                      env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
        results = [process.communicate(timeout=60) for process in processes]
    finally:
        zalo_api.mode(oauth_delay=0)
    assert all(process.returncode == 0 for process in processes), results
    [renewal] = renewals_with(zalo_api, refresh)
    assert [json.loads(out.strip().splitlines()[-1]) for out, _ in results] == [renewal["access_token"]] * 2

    async def restart() -> tuple[str, ZaloToken]:  # a new process reads the stored pair, and renews nothing
        async with httpx.AsyncClient() as client:
            return await zalo_tokens.current_token(client, settings), await ZaloToken.get(id=1)

    token, row = on(database, restart)
    assert token == renewal["access_token"] and row.refresh_token == renewal["issued"]
    assert len(renewals_with(zalo_api, refresh)) == 1 and not renewals_with(zalo_api, renewal["issued"])


def test_a_refused_renewal_fails_the_message_over_and_keeps_the_refresh_token(zalo_api, database, caplog):
    settings = settings_for(zalo_api, refresh="spent-" + uuid.uuid4().hex[:8], access="expired-by-now")

    async def body() -> tuple[zalo.Sent, ZaloToken]:
        async with httpx.AsyncClient() as client:
            return await zalo_tokens.send(client, settings, message()), await ZaloToken.get(id=1)

    with caplog.at_level(logging.ERROR, logger="motcua.zalo"):
        sent, row = on(database, body)
    assert sent.result == zalo.FAILED and sent.code == -124  # the notice falls to the next channel
    assert [r["error"] for r in renewals_with(zalo_api, settings.refresh_token)] == [-14014]
    assert row.refresh_token == settings.refresh_token
    assert any("-14014" in record.getMessage() for record in caplog.records if record.levelno == logging.ERROR)


def test_a_new_refresh_token_in_the_settings_replaces_a_dead_chain(zalo_api, database):
    old = settings_for(zalo_api, refresh="dead-" + uuid.uuid4().hex[:8])
    new = settings_for(zalo_api, refresh=seeded(zalo_api), access="")

    async def body() -> str:
        async with httpx.AsyncClient() as client:
            await zalo_tokens.current_token(client, old)
            return await zalo_tokens.current_token(client, new)

    assert on(database, body).startswith("zalo-access-")


def test_renewal_settings_are_checked():
    base = {"SECRET_KEY": "k" * 32, "ZALO_TEMPLATE_ID": "1"}
    with pytest.raises(ConfigError, match="ZALO_APP_SECRET"):
        load_settings({**base, "ZALO_REFRESH_TOKEN": "r", "ZALO_APP_ID": "42"})
    with pytest.raises(ConfigError, match="ZALO_OAUTH_URL"):
        load_settings({**base, "ZALO_REFRESH_TOKEN": "r", "ZALO_APP_ID": "42", "ZALO_APP_SECRET": "s",
                       "ZALO_OAUTH_URL": "ftp://x"})
    zalo_settings = load_settings({**base, "ZALO_REFRESH_TOKEN": "r", "ZALO_APP_ID": "42",
                                   "ZALO_APP_SECRET": "s"}).notices.zalo
    assert zalo_settings is not None and zalo_settings.renewable and zalo_settings.access_token == ""
    assert zalo_settings.oauth_url == "https://oauth.zaloapp.com/v4/oa/access_token"


# -- end to end: the worker of a running server, its notices, SMS behind Zalo ---------------------------------------

@pytest.fixture(scope="module")
def expired_zalo(tmp_path_factory):
    """A stand-in of its own whose first access token has already expired (the province's token of yesterday)."""
    api = ZaloApi(tmp_path_factory.mktemp("zalo-expired")).start()
    api.mode(expire_initial=1)
    yield api
    api.stop()


def test_a_worker_falls_to_sms_while_renewal_is_refused_and_uses_zalo_once_it_renews(
        tmp_path_factory, fresh_database, smpp_gateway, expired_zalo):
    refresh = "seed-" + uuid.uuid4().hex[:12]  # not yet known to Zalo: renewal is refused (-14014)
    data_dir = tmp_path_factory.mktemp("zalo-renewal") / "data"
    env = motcua_env(data_dir, fresh_database(), MOTCUA_RATE_LIMITS=SUITE_RATE_LIMITS, NOTICE_CHANNELS="push,zalo,sms",
                     NOTICE_RETRY_BASE="0.2", **smpp_gateway.env(), **expired_zalo.env(),
                     ZALO_REFRESH_TOKEN=refresh, ZALO_APP_SECRET=ZALO_APP_SECRET,
                     ZALO_OAUTH_URL=expired_zalo.url + "/v4/oa/access_token")
    run_motcua(["migrate"], env)
    run_motcua(["seed"], env)
    run_motcua(["catalog", "import", str(ROOT / "tests" / "data" / "catalog-test.json")], env)
    officer = OFFICERS["intake"]
    run_motcua(["user", "add", "--phone", officer.phone, "--name", officer.name, "--role", officer.role,
                "--unit", officer.unit, "--password", OFFICER_PASSWORD], env)
    running = start_server(env, cwd=data_dir.parent, data_dir=data_dir)
    try:
        citizen, _ = new_citizen(running)
        received_dossier(running, citizen)
        wait_until(lambda: [c["status"] for c in channels_of(citizen)][:1] == ["failed"]
                   and len(channels_of(citizen)) == 2)
        zalo_row, by_sms = channels_of(citizen)
        assert "-124" in zalo_row["error"] and by_sms["channel"] == "sms"
        assert [r["error"] for r in renewals_with(expired_zalo, refresh)] == [-14014]

        expired_zalo.mode(refresh_token=refresh)  # the refresh token is good now: the next notice renews and goes
        other, phone = new_citizen(running)
        received_dossier(running, other)
        wait_until(lambda: [c["status"] for c in channels_of(other)] == ["sent"])
        assert channels_of(other)[0]["channel"] == "zalo"
        assert [r["error"] for r in renewals_with(expired_zalo, refresh)] == [-14014, 0]
        assert [m for m in expired_zalo.messages() if m["phone"] == intl(phone)]
    finally:
        running.stop()
