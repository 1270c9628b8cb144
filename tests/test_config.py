"""Settings come from the environment; a bad one stops start-up with one line saying which and how to fix it."""

from __future__ import annotations

import pytest

from server.config import ConfigError, load_settings


def settings_from(tmp_path, **env):
    return load_settings({"MOTCUA_DATA_DIR": str(tmp_path / "data"), **env})


def test_embedded_default_keeps_everything_under_the_data_folder(tmp_path):
    settings = settings_from(tmp_path)
    data = tmp_path / "data"
    assert settings.database_url == f"sqlite://{data / 'motcua.sqlite3'}"
    assert settings.storage.kind == "file" and settings.storage.path == data / "blobs"
    assert (data / "secret_key").read_text() == settings.secret_key and len(settings.secret_key) >= 32
    assert (data / "vapid_private.pem").stat().st_mode & 0o077 == 0, "private keys are readable by the owner only"
    assert len(settings.vapid_application_server_key) == 87  # 65-byte P-256 point, base64url without padding


def test_generated_keys_are_kept_across_restarts(tmp_path):
    first, second = settings_from(tmp_path), settings_from(tmp_path)
    assert first.secret_key == second.secret_key
    assert first.vapid_public_pem == second.vapid_public_pem


def test_postgres_url_is_accepted_in_both_spellings(tmp_path):
    assert settings_from(tmp_path, DATABASE_URL="postgresql://u:p@db:5432/motcua").database_url == "postgres://u:p@db:5432/motcua"
    assert settings_from(tmp_path, DATABASE_URL="postgres://u@db/motcua").database_url == "postgres://u@db/motcua"


def test_s3_storage_url_carries_endpoint_region_and_path_style(tmp_path):
    storage = settings_from(tmp_path, STORAGE_URL="s3://hoso?endpoint=http://127.0.0.1:9000&region=ap-southeast-1&path_style=true",
                            S3_ACCESS_KEY_ID="key", S3_SECRET_ACCESS_KEY="secret").storage
    assert (storage.kind, storage.bucket, storage.endpoint_url, storage.region, storage.path_style) == (
        "s3", "hoso", "http://127.0.0.1:9000", "ap-southeast-1", True)
    assert (storage.access_key, storage.secret_key) == ("key", "secret")


@pytest.mark.parametrize("env, names", [
    ({"DATABASE_URL": "mysql://root@localhost/x"}, "DATABASE_URL"),
    ({"DATABASE_URL": "postgres://"}, "DATABASE_URL"),
    ({"STORAGE_URL": "ftp://files"}, "STORAGE_URL"),
    ({"STORAGE_URL": "s3://bucket?endpont=http://x"}, "STORAGE_URL"),
    ({"STORAGE_URL": "s3://bucket?endpoint=127.0.0.1:9000"}, "STORAGE_URL"),
    ({"STORAGE_URL": "s3://bucket", "S3_ACCESS_KEY_ID": "only-half"}, "S3_ACCESS_KEY_ID"),
    ({"SECRET_KEY": "short"}, "SECRET_KEY"),
    ({"VAPID_PRIVATE_KEY": "/nonexistent.pem"}, "VAPID_PRIVATE_KEY"),
    ({"VAPID_PRIVATE_KEY": "/nonexistent.pem", "VAPID_PUBLIC_KEY": "/nonexistent2.pem"}, "VAPID_PRIVATE_KEY"),
    ({"VAPID_SUBJECT": "admin@example.com"}, "VAPID_SUBJECT"),
    ({"PUBLIC_URL": "motcua.example"}, "PUBLIC_URL"),
])
def test_a_malformed_setting_is_named_with_a_fix(tmp_path, env, names):
    with pytest.raises(ConfigError) as raised:
        settings_from(tmp_path, **env)
    message = str(raised.value)
    assert message.startswith(names)
    assert "\n" not in message
    assert any(hint in message for hint in ("e.g.", "use ", "set ", "generate", "must", "at least")), message


def test_behaviour_settings_are_read_with_the_rest(tmp_path):
    from datetime import time

    from server.web.rate_limits import DEFAULT_LIMITS, Rule

    default = settings_from(tmp_path)
    assert default.push_worker == "inprocess" and not default.push_insecure_endpoints and default.pwa_dir is None
    assert default.rate_limits == DEFAULT_LIMITS and default.deadline_cutoff is None
    assert default.sync_concurrency == 16
    tuned = settings_from(tmp_path, MOTCUA_PUSH_WORKER="External", MOTCUA_PUSH_INSECURE_ENDPOINTS="1",
                          MOTCUA_PWA_DIR=str(tmp_path / "release"), MOTCUA_RATE_LIMITS="sync.device=3/60",
                          MOTCUA_WORKING_HOURS="08:00-12:00", MOTCUA_DEADLINE_CUTOFF="15:00",
                          MOTCUA_SYNC_CONCURRENCY="4")
    assert tuned.push_worker == "external" and tuned.push_insecure_endpoints
    assert tuned.pwa_dir == (tmp_path / "release").resolve()
    assert tuned.rate_limits["sync"]["device"] == Rule(3, 60)
    assert tuned.working_hours == ((time(8), time(12)),) and tuned.deadline_cutoff == time(15)
    assert tuned.sync_concurrency == 4 and settings_from(tmp_path, MOTCUA_SYNC_CONCURRENCY="0").sync_concurrency == 0
    assert settings_from(tmp_path, MOTCUA_RATE_LIMITS="off").rate_limits == {}


@pytest.mark.parametrize("name, value", [("MOTCUA_WORKING_HOURS", "9-5"), ("MOTCUA_DEADLINE_CUTOFF", "late"),
                                         ("MOTCUA_RATE_LIMITS", "sync=lots"), ("MOTCUA_SYNC_CONCURRENCY", "-1"),
                                         ("MOTCUA_SYNC_CONCURRENCY", "²"), ("MOTCUA_SYNC_CONCURRENCY", "many")])
def test_malformed_behaviour_setting_is_a_config_error(tmp_path, name, value):
    with pytest.raises(ConfigError, match=name):
        settings_from(tmp_path, **{name: value})


def test_create_app_installs_its_settings_for_domain_code(tmp_path):
    from server import config
    from server.app import create_app
    from server.workflow.working_time import configured_cutoff

    before = config._current
    settings = settings_from(tmp_path, MOTCUA_DEADLINE_CUTOFF="14:30")
    try:
        app = create_app(settings)
        assert app.state.settings is settings and config.current() is settings
        assert configured_cutoff().isoformat() == "14:30:00"
    finally:
        config._current = before  # later tests in this process see the settings they had
