"""Upgrading a database that already holds data: 0003 renames the sync outcomes' table and keeps its rows."""

from __future__ import annotations

import asyncio
import json

from tortoise import Tortoise
from tortoise.connection import get_connection
from tortoise.migrations.api import migrate

APPS = {"motcua": {"models": ["server.models"], "migrations": "server.migrations", "default_connection": "default"}}


def test_0003_renames_receipts_to_outcomes_and_keeps_rows(fresh_database):
    config = {"connections": {"default": fresh_database()}, "apps": APPS}

    async def upgrade() -> tuple[list[dict], list[dict]]:
        await migrate(config=config, app_labels=["motcua"], target="motcua.0002_workflow_push_limits")
        await Tortoise.init(config=config)
        try:
            connection = get_connection("default")
            await connection.execute_script(
                "INSERT INTO users (phone, full_name, full_name_folded, role, password_hash, session_epoch, locale, created_at) "
                "VALUES ('0900000001', 'An', 'an', 'citizen', 'x', 0, 'vi', CURRENT_TIMESTAMP)")
            user_id = (await connection.execute_query_dict("SELECT id FROM users"))[0]["id"]
            await connection.execute_script(
                f"INSERT INTO devices (id, user_id, name, applied_seq, created_at, last_seen_at) "
                f"VALUES ('dev-1', {user_id}, '', 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)")
            await connection.execute_script(
                "INSERT INTO mutation_receipts (device_id, seq, mutation_id, fingerprint, status, result, created_at) "
                "VALUES ('dev-1', 1, 'm-1', 'f', 'applied', '{\"status\":\"applied\"}', CURRENT_TIMESTAMP)")
        finally:
            await Tortoise.close_connections()
        await migrate(config=config, app_labels=["motcua"])
        await Tortoise.init(config=config)
        try:
            from server.models import MutationOutcome

            await MutationOutcome.create(device_id="dev-1", seq=2, mutation_id="m-2", fingerprint="g", status="applied",
                                         result={})  # the id sequence moved past the copied rows
            rows = [dict(mutation_id=row.mutation_id, seq=row.seq, status=row.status, result=row.result)
                    for row in await MutationOutcome.all().order_by("seq")]
            tables = await get_connection("default").execute_query_dict(
                "SELECT COUNT(*) AS n FROM mutation_outcomes")
        finally:
            await Tortoise.close_connections()
        return rows, tables

    rows, tables = asyncio.run(upgrade())
    assert rows == [{"mutation_id": "m-1", "seq": 1, "status": "applied", "result": {"status": "applied"}},
                    {"mutation_id": "m-2", "seq": 2, "status": "applied", "result": {}}]
    assert tables == [{"n": 2}]


def test_0011_fills_the_applicants_numbers_of_existing_dossiers(fresh_database):
    """Walk-in dossiers taken before 0011 are found by their citizen's phone and personal id too."""
    config = {"connections": {"default": fresh_database()}, "apps": APPS}
    form = {"form": {"fields": [{"name": "ho_ten", "type": "text"}, {"name": "dien_thoai", "type": "phone"},
                                {"name": "so_dinh_danh", "type": "cccd"}]}}
    filled = '{"ho_ten": "An", "dien_thoai": "+84 912 345 678", "so_dinh_danh": "026301123456"}'
    old_card = '{"ho_ten": "Bình", "dien_thoai": "12345", "so_dinh_danh": "026301123"}'

    async def upgrade() -> list[tuple]:
        await migrate(config=config, app_labels=["motcua"], target="motcua.0009_oidc_personal_id")
        await Tortoise.init(config=config)
        try:
            connection = get_connection("default")
            await connection.execute_script(
                "INSERT INTO procedures (code, name, name_folded, field, level, processing_unit, online, on_the_spot, "
                "current_version) VALUES ('T.1', 'Thủ tục', 'thu tuc', 'Hộ tịch', 'commune', 'working_days', "
                "'none', FALSE, 1)")
            procedure = (await connection.execute_query_dict("SELECT id FROM procedures"))[0]["id"]
            await connection.execute_query(
                "INSERT INTO procedure_versions (procedure_id, version, effective_from, content, content_hash, "
                f"imported_at) VALUES ({procedure}, 1, '2025-07-01', '{json.dumps(form)}', 'h', CURRENT_TIMESTAMP)")
            version = (await connection.execute_query_dict("SELECT id FROM procedure_versions"))[0]["id"]
            for dossier_id, data in (("d-1", filled), ("d-2", old_card)):
                await connection.execute_query(
                    "INSERT INTO dossiers (id, procedure_version_id, status, channel, data, version, created_at, "
                    "updated_at, code_provisional, postal_submit, postal_return, postal_consignment, returned_to) "
                    f"VALUES ('{dossier_id}', {version}, 1, 'direct', '{data}', 1, CURRENT_TIMESTAMP, "
                    "CURRENT_TIMESTAMP, FALSE, FALSE, FALSE, '', '')")
        finally:
            await Tortoise.close_connections()
        await migrate(config=config, app_labels=["motcua"])
        await Tortoise.init(config=config)
        try:
            rows = await get_connection("default").execute_query_dict(
                "SELECT id, applicant_phone, applicant_personal_id FROM dossiers ORDER BY id")
        finally:
            await Tortoise.close_connections()
        return [(row["id"], row["applicant_phone"], row["applicant_personal_id"]) for row in rows]

    assert asyncio.run(upgrade()) == [("d-1", "0912345678", "026301123456"), ("d-2", None, None)]


def test_0013_drops_the_sms_outbox_that_nothing_sent(fresh_database):
    """The claim codes go by the SMS channel now: the table 0011 made for them goes, with its unsent rows."""
    config = {"connections": {"default": fresh_database()}, "apps": APPS}

    async def upgrade() -> tuple[int, list[dict]]:
        await migrate(config=config, app_labels=["motcua"], target="motcua.0012_payments")
        await Tortoise.init(config=config)
        try:
            connection = get_connection("default")
            await connection.execute_script(
                "INSERT INTO sms_outbox (phone, text, key, created_at) "
                "VALUES ('0912345678', 'Ma xac nhan: 123456', 'claim:c-1', CURRENT_TIMESTAMP)")
            before = (await connection.execute_query_dict("SELECT COUNT(*) AS n FROM sms_outbox"))[0]["n"]
        finally:
            await Tortoise.close_connections()
        await migrate(config=config, app_labels=["motcua"])
        await Tortoise.init(config=config)
        try:
            connection = get_connection("default")
            if connection.capabilities.dialect == "postgres":
                sql = "SELECT table_name AS name FROM information_schema.tables WHERE table_name = 'sms_outbox'"
            else:
                sql = "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'sms_outbox'"
            left = await connection.execute_query_dict(sql)
        finally:
            await Tortoise.close_connections()
        return before, left

    assert asyncio.run(upgrade()) == (1, [])


def test_0015_rate_windows_are_unlogged_on_postgresql_and_counting_goes_on(fresh_database):
    """The request counts are kept without a WAL flush of their own on PostgreSQL; their rows survive the
    change (an unlogged table loses them only on a crash), and SQLite is left as it was."""
    config = {"connections": {"default": fresh_database()}, "apps": APPS}

    async def upgrade() -> tuple[str | None, int]:
        await migrate(config=config, app_labels=["motcua"], target="motcua.0013_drop_sms_outbox")
        await Tortoise.init(config=config)
        try:
            await get_connection("default").execute_script(
                "INSERT INTO rate_windows (key, window_started, hits) VALUES ('sync:device:d-1', CURRENT_TIMESTAMP, 3)")
        finally:
            await Tortoise.close_connections()
        await migrate(config=config, app_labels=["motcua"])
        await Tortoise.init(config=config)
        try:
            connection = get_connection("default")
            persistence = None
            if connection.capabilities.dialect == "postgres":
                persistence = (await connection.execute_query_dict(
                    "SELECT relpersistence FROM pg_class WHERE relname = 'rate_windows'"))[0]["relpersistence"]
            hits = (await connection.execute_query_dict("SELECT hits FROM rate_windows"))[0]["hits"]
        finally:
            await Tortoise.close_connections()
        return persistence, hits

    persistence, hits = asyncio.run(upgrade())
    assert hits == 3
    assert persistence in (None, b"u", "u")  # None: SQLite; "char" comes back as bytes from asyncpg
