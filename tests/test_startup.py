"""Starting motcua as a newcomer does: from any folder, with real processes and a real server on loopback."""

from __future__ import annotations

import httpx

from tests.conftest import motcua_env, run_motcua, start_server


def test_serve_refuses_a_database_that_is_behind_and_says_to_migrate(tmp_path, fresh_database):
    env = motcua_env(tmp_path / "data", fresh_database())
    result = run_motcua(["serve", "--port", "1"], env, check=False)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "motcua migrate" in lines[0], result.stderr


def test_a_malformed_setting_stops_serve_with_one_line(tmp_path):
    env = motcua_env(tmp_path / "data", "mysql://root@localhost/motcua")
    result = run_motcua(["serve"], env, check=False)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "DATABASE_URL" in result.stderr and "postgres://" in result.stderr


def test_migrate_then_serve_from_any_folder_keeps_data_under_its_data_folder(tmp_path, fresh_database):
    folder = tmp_path / "anywhere"
    folder.mkdir()
    env = motcua_env(folder / "data", fresh_database())
    del env["MOTCUA_DATA_DIR"]  # no settings but the database: the folder it runs in decides
    migrated = run_motcua(["migrate"], env, cwd=folder)
    assert "up to date" in migrated.stdout
    again = run_motcua(["migrate"], env, cwd=folder)
    assert "0 migration(s) applied" in again.stdout
    server = start_server(env, cwd=folder, data_dir=folder / "data")
    try:
        health = httpx.get(f"{server.url}/healthz").json()
        assert health == {"ok": True, "checks": {"database": {"ok": True}, "storage": {"ok": True, "backend": "file"}}}
        assert (folder / "data" / "secret_key").exists() and (folder / "data" / "blobs").is_dir()
    finally:
        server.stop()


def test_healthz_reports_an_unreachable_object_store(tmp_path, fresh_database):
    env = motcua_env(tmp_path / "data", fresh_database(), STORAGE_URL="s3://hoso?endpoint=http://127.0.0.1:9&path_style=true",
                     S3_ACCESS_KEY_ID="k", S3_SECRET_ACCESS_KEY="s")
    run_motcua(["migrate"], env)
    server = start_server(env, cwd=tmp_path, data_dir=tmp_path / "data")
    try:
        response = httpx.get(f"{server.url}/healthz")
        assert response.status_code == 503
        assert response.json()["checks"]["database"] == {"ok": True}
        assert response.json()["checks"]["storage"]["ok"] is False
    finally:
        server.stop()


def test_the_migrations_match_the_models():
    """A model change without its migration would leave every deployed database behind."""
    import asyncio

    from tortoise.context import TortoiseContext
    from tortoise.migrations.autodetector import MigrationAutodetector

    apps = {"motcua": {"models": ["server.models"], "migrations": "server.migrations"}}

    async def changes():
        async with TortoiseContext() as ctx:
            await ctx.init(config={"connections": {"default": "sqlite://:memory:"}, "apps": apps})
            return await MigrationAutodetector(ctx.apps, apps).changes()

    assert asyncio.run(changes()) == []
