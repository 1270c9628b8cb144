"""Settings, read once from the environment.

With no settings at all motcua runs on the embedded default: everything lives under
`./data` of the folder it is started in (SQLite file, blob folder, generated secret
key and push keys), so a newcomer sees it working with one command. Every setting is
documented in docs/configuration.md.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from webpush.vapid import VAPID

if TYPE_CHECKING:  # imported at run time only where parsed, so config stays below every other module
    from server.web.rate_limits import Rule


class ConfigError(Exception):
    """A setting is missing or malformed; the message says which and how to fix it."""


@dataclass(frozen=True)
class StorageSettings:
    kind: str  # "file" or "s3"
    path: Path | None = None
    bucket: str | None = None
    endpoint_url: str | None = None
    region: str = "us-east-1"
    path_style: bool = False
    access_key: str | None = None
    secret_key: str | None = None


@dataclass(frozen=True)
class OidcSettings:
    """The province's OpenID Connect identity provider (docs/operations.md "Identity provider")."""
    issuer: str  # OIDC_ISSUER: its discovery document is <issuer>/.well-known/openid-configuration
    client_id: str  # OIDC_CLIENT_ID
    client_secret: str  # OIDC_CLIENT_SECRET
    personal_id_claim: str | None = None  # OIDC_PERSONAL_ID_CLAIM; None: `sub` when 12 digits, else `personal_id`
    required_for_officers: bool = False  # OIDC_REQUIRED_FOR_OFFICERS=1: officers may not sign in with a password
    scope: str = "openid profile phone"  # OIDC_SCOPE


@dataclass(frozen=True)
class VnpaySettings:
    """The VNPAY payment gateway (docs/payments.md "Gateway"): its payment URL and this merchant's terminal code and
    secret, as VNPAY issues them."""
    url: str  # VNPAY_URL, e.g. https://sandbox.vnpayment.vn/paymentv2/vpcpay.html
    tmn_code: str  # VNPAY_TMN_CODE
    hash_secret: str  # VNPAY_HASH_SECRET: the HMAC-SHA512 key of vnp_SecureHash
    # VNPAY_API_URL: the merchant API for querydr (order status, for orders whose notification never came), e.g.
    # https://sandbox.vnpayment.vn/merchant_webapi/api/transaction; "" = orders are known only by notification.
    api_url: str = ""


@dataclass(frozen=True)
class SmppSettings:
    """The operator's SMS gateway, spoken to over SMPP 3.4 (docs/operations.md "SMS gateway")."""
    host: str  # SMPP_HOST
    port: int  # SMPP_PORT (2775 by convention)
    system_id: str  # SMPP_SYSTEM_ID
    password: str  # SMPP_PASSWORD
    source_addr: str  # SMPP_SOURCE_ADDR: the registered brand name (alphanumeric) or short code
    diacritics: bool = False  # SMS_DIACRITICS=1: UCS-2 with Vietnamese marks (70 characters), else GSM-7 (160)


@dataclass(frozen=True)
class ZaloSettings:
    """The province's Zalo Official Account and its approved ZNS template (docs/operations.md "Zalo Official Account")."""
    access_token: str  # ZALO_ACCESS_TOKEN: the first access token (optional once ZALO_REFRESH_TOKEN is given)
    template_id: str  # ZALO_TEMPLATE_ID: the template used for every kind without its own
    templates: dict[str, str] = field(default_factory=dict)  # ZALO_TEMPLATES="result_ready=123,received=456"
    api_url: str = "https://business.openapi.zalo.me"  # ZALO_API_URL
    # Delivery receipts (POST /api/notices/zalo/events): the app linked to the OA and the OA's secret key, which
    # sign each webhook call. Both empty: the webhook is off and Zalo notices stay "sent".
    app_id: str = ""  # ZALO_APP_ID
    oa_secret_key: str = ""  # ZALO_OA_SECRET_KEY
    # Renewal (server/notify/zalo_tokens.py): an access token lives about 25 hours, so the app's secret key and a
    # refresh token let motcua renew it. The refresh token seeds the pair kept in the database (single-use: each
    # renewal gives the next one). Both empty: the access token is used until it expires, as before.
    app_secret: str = ""  # ZALO_APP_SECRET
    refresh_token: str = ""  # ZALO_REFRESH_TOKEN
    oauth_url: str = "https://oauth.zaloapp.com/v4/oa/access_token"  # ZALO_OAUTH_URL

    @property
    def renewable(self) -> bool:
        return bool(self.refresh_token and self.app_id and self.app_secret)


@dataclass(frozen=True)
class NoticeSettings:
    """Which channels carry a notice and in what order, with their daily caps and costs (docs/push.md "Channels")."""
    order: tuple[str, ...] = ("push", "zalo", "sms")  # NOTICE_CHANNELS="push,zalo,sms"
    daily_cap: dict[str, int] = field(default_factory=dict)  # NOTICE_DAILY_CAP="sms=5000,zalo=20000" per province
    cost: dict[str, int] = field(default_factory=dict)  # NOTICE_COST="sms=750,zalo=300" đồng per message
    retry_base: float = 5.0  # NOTICE_RETRY_BASE: seconds before a gateway's first retry, doubling
    sms: SmppSettings | None = None  # None: SMS is off (the embedded default)
    zalo: ZaloSettings | None = None  # None: Zalo is off


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    storage: StorageSettings
    secret_key: str
    vapid_private_pem: bytes
    vapid_public_pem: bytes
    vapid_subject: str
    public_url: str | None
    # Tunables with working defaults (docs/configuration.md "Other settings").
    push_worker: str = "inprocess"  # MOTCUA_PUSH_WORKER: "inprocess" or "external" (`motcua worker` sends)
    push_insecure_endpoints: bool = False  # MOTCUA_PUSH_INSECURE_ENDPOINTS=1: tests' plain-HTTP push service
    pwa_dir: Path | None = None  # MOTCUA_PWA_DIR: the app's folder; None is the shipped pwa/
    rate_limits: dict[str, dict[str, Rule]] | None = field(default=None, compare=False)  # MOTCUA_RATE_LIMITS, parsed; None: the defaults
    working_hours: tuple[tuple[time, time], ...] = ()  # MOTCUA_WORKING_HOURS, parsed; () is the default 07:00-11:30,13:30-17:00
    deadline_cutoff: time | None = None  # MOTCUA_DEADLINE_CUTOFF
    sync_concurrency: int = 16  # MOTCUA_SYNC_CONCURRENCY: sync rounds in progress at once per process; 0: no limit
    oidc: OidcSettings | None = None  # OIDC_ISSUER and friends; None: no identity provider (the embedded default)
    vnpay: VnpaySettings | None = None  # VNPAY_URL and friends; None: no payment gateway (transfer and cash only)
    notices: NoticeSettings = field(default_factory=NoticeSettings)  # NOTICE_*, SMPP_*, ZALO_*: push only by default

    @property
    def tortoise_db_url(self) -> str:
        return self.database_url

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite:")

    @property
    def vapid_application_server_key(self) -> str:
        from cryptography.hazmat.primitives import serialization

        key: str = VAPID.get_application_server_key(serialization.load_pem_public_key(self.vapid_public_pem))
        return key


def load_settings(environ: dict[str, str] | None = None, *, create: bool = True) -> Settings:
    """Read settings; with `create`, generate the embedded defaults that are missing."""
    env = dict(os.environ if environ is None else environ)
    data_dir = Path(env.get("MOTCUA_DATA_DIR") or "data").resolve()
    if create:
        try:
            data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise ConfigError(
                f"MOTCUA_DATA_DIR: cannot create {data_dir} ({error.strerror}); "
                "set MOTCUA_DATA_DIR to a folder you can write to."
            ) from None
    return Settings(
        data_dir=data_dir,
        database_url=_database_url(env.get("DATABASE_URL"), data_dir),
        storage=_storage(env, data_dir, create),
        secret_key=_secret_key(env.get("SECRET_KEY"), data_dir, create),
        **_vapid(env, data_dir, create),
        public_url=_public_url(env.get("PUBLIC_URL")),
        **tunables(env),
    )


def tunables(env: dict[str, str]) -> dict[str, Any]:
    """The settings that change behaviour, not where things live; each has a working default."""
    from server.web.rate_limits import RateLimitSettingError, parse_limits
    from server.workflow.working_time import DEFAULT_HOURS, CalendarError, parse_hours

    hours_text = env.get("MOTCUA_WORKING_HOURS", "").strip()
    try:
        hours = parse_hours(hours_text) if hours_text else DEFAULT_HOURS
    except CalendarError as error:
        raise ConfigError(f"MOTCUA_WORKING_HOURS: {error}") from None
    cutoff_text = env.get("MOTCUA_DEADLINE_CUTOFF", "").strip()
    try:
        cutoff = time.fromisoformat(cutoff_text) if cutoff_text else None
    except ValueError:
        raise ConfigError(f"MOTCUA_DEADLINE_CUTOFF must be a time like 15:00, not {cutoff_text!r}") from None
    try:
        limits = parse_limits(env.get("MOTCUA_RATE_LIMITS"))
    except RateLimitSettingError as error:
        raise ConfigError(str(error)) from None
    pwa_dir = env.get("MOTCUA_PWA_DIR")
    concurrency_text = env.get("MOTCUA_SYNC_CONCURRENCY", "").strip()
    if concurrency_text and not (concurrency_text.isascii() and concurrency_text.isdigit()):
        raise ConfigError(f"MOTCUA_SYNC_CONCURRENCY must be a whole number (0: no limit), not {concurrency_text!r}")
    return {
        "push_worker": "external" if env.get("MOTCUA_PUSH_WORKER", "").strip().lower() == "external" else "inprocess",
        "push_insecure_endpoints": env.get("MOTCUA_PUSH_INSECURE_ENDPOINTS") == "1",
        "pwa_dir": Path(pwa_dir).resolve() if pwa_dir else None,
        "rate_limits": limits,
        "working_hours": hours,
        "deadline_cutoff": cutoff,
        "sync_concurrency": int(concurrency_text) if concurrency_text else Settings.sync_concurrency,
        "oidc": _oidc(env),
        "vnpay": _vnpay(env),
        "notices": _notices(env),
    }


def _vnpay(env: dict[str, str]) -> VnpaySettings | None:
    values = [env.get(name, "").strip() for name in ("VNPAY_URL", "VNPAY_TMN_CODE", "VNPAY_HASH_SECRET")]
    if not any(values):
        return None
    if not all(values):
        raise ConfigError("VNPAY_URL, VNPAY_TMN_CODE and VNPAY_HASH_SECRET must be set together (or none of them)")
    parts = urlsplit(values[0])
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError("VNPAY_URL: must be the gateway's absolute payment URL, e.g. "
                          "https://sandbox.vnpayment.vn/paymentv2/vpcpay.html")
    api_url = env.get("VNPAY_API_URL", "").strip()
    api = urlsplit(api_url)
    if api_url and (api.scheme not in ("http", "https") or not api.hostname):
        raise ConfigError("VNPAY_API_URL: must be the gateway's absolute merchant API URL, e.g. "
                          "https://sandbox.vnpayment.vn/merchant_webapi/api/transaction")
    return VnpaySettings(url=values[0], tmn_code=values[1], hash_secret=values[2], api_url=api_url)


CHANNELS = ("push", "zalo", "sms")


def _per_channel(name: str, value: str) -> dict[str, int]:
    """"sms=5000,zalo=20000" → {"sms": 5000, "zalo": 20000}."""
    result: dict[str, int] = {}
    for part in filter(None, (item.strip() for item in value.split(","))):
        channel, _, number = part.partition("=")
        channel = channel.strip()
        if channel not in CHANNELS or not number.strip().isdigit():
            raise ConfigError(f"{name}: {part!r} is not channel=number with a channel of {', '.join(CHANNELS)}, "
                              "e.g. sms=5000,zalo=20000")
        result[channel] = int(number)
    return result


def _notices(env: dict[str, str]) -> NoticeSettings:
    order_text = env.get("NOTICE_CHANNELS", "").strip()
    order = tuple(item.strip() for item in order_text.split(",") if item.strip()) if order_text else CHANNELS
    unknown = [item for item in order if item not in CHANNELS]
    if unknown or len(set(order)) != len(order):
        raise ConfigError(f"NOTICE_CHANNELS: list each of {', '.join(CHANNELS)} at most once, in the order to try them "
                          f"(e.g. push,zalo,sms), not {order_text!r}")
    try:
        retry_base = float(env.get("NOTICE_RETRY_BASE", "").strip() or 5.0)
    except ValueError:
        raise ConfigError("NOTICE_RETRY_BASE must be a number of seconds, e.g. 5") from None
    return NoticeSettings(order=order, daily_cap=_per_channel("NOTICE_DAILY_CAP", env.get("NOTICE_DAILY_CAP", "")),
                          cost=_per_channel("NOTICE_COST", env.get("NOTICE_COST", "")), retry_base=max(0.0, retry_base),
                          sms=_smpp(env), zalo=_zalo(env))


def _smpp(env: dict[str, str]) -> SmppSettings | None:
    host = env.get("SMPP_HOST", "").strip()
    if not host:
        return None
    system_id, password = env.get("SMPP_SYSTEM_ID", "").strip(), env.get("SMPP_PASSWORD", "")
    source = env.get("SMPP_SOURCE_ADDR", "").strip()
    if not (system_id and password and source):
        raise ConfigError("SMPP_HOST is set: set SMPP_SYSTEM_ID, SMPP_PASSWORD and SMPP_SOURCE_ADDR (the brand name "
                          "or short code the operator registered) too")
    port_text = env.get("SMPP_PORT", "").strip() or "2775"
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ConfigError(f"SMPP_PORT must be a port number such as 2775, not {port_text!r}")
    return SmppSettings(host=host, port=int(port_text), system_id=system_id, password=password, source_addr=source,
                        diacritics=env.get("SMS_DIACRITICS", "").strip() in ("1", "true"))


def _zalo(env: dict[str, str]) -> ZaloSettings | None:
    token = env.get("ZALO_ACCESS_TOKEN", "").strip()
    refresh = env.get("ZALO_REFRESH_TOKEN", "").strip()
    if not (token or refresh):
        return None
    template = env.get("ZALO_TEMPLATE_ID", "").strip()
    templates: dict[str, str] = {}
    for part in filter(None, (item.strip() for item in env.get("ZALO_TEMPLATES", "").split(","))):
        kind, _, number = part.partition("=")
        if not kind.strip() or not number.strip():
            raise ConfigError(f"ZALO_TEMPLATES: {part!r} is not kind=template_id, e.g. result_ready=231234")
        templates[kind.strip()] = number.strip()
    given = "ZALO_ACCESS_TOKEN" if token else "ZALO_REFRESH_TOKEN"
    if not (template or templates):
        raise ConfigError(f"{given} is set: set ZALO_TEMPLATE_ID to the approved ZNS template's id too")
    url = env.get("ZALO_API_URL", "").strip() or "https://business.openapi.zalo.me"
    if urlsplit(url).scheme not in ("http", "https"):
        raise ConfigError("ZALO_API_URL must be an http(s) URL, e.g. https://business.openapi.zalo.me")
    oauth_url = env.get("ZALO_OAUTH_URL", "").strip() or "https://oauth.zaloapp.com/v4/oa/access_token"
    if urlsplit(oauth_url).scheme not in ("http", "https"):
        raise ConfigError("ZALO_OAUTH_URL must be an http(s) URL, e.g. https://oauth.zaloapp.com/v4/oa/access_token")
    app_id, oa_secret = env.get("ZALO_APP_ID", "").strip(), env.get("ZALO_OA_SECRET_KEY", "").strip()
    app_secret = env.get("ZALO_APP_SECRET", "").strip()
    if refresh and not (app_id and app_secret):
        raise ConfigError("ZALO_REFRESH_TOKEN is set: set ZALO_APP_ID and ZALO_APP_SECRET (the app's secret key) too, "
                          "so the access token can be renewed")
    if oa_secret and not app_id or app_id and not oa_secret and not refresh:
        raise ConfigError("ZALO_APP_ID and ZALO_OA_SECRET_KEY go together: set both (Zalo's delivery receipts are "
                          "signed with them) or neither")
    return ZaloSettings(access_token=token, template_id=template, templates=templates, api_url=url.rstrip("/"),
                        app_id=app_id, oa_secret_key=oa_secret, app_secret=app_secret, refresh_token=refresh,
                        oauth_url=oauth_url)


def _oidc(env: dict[str, str]) -> OidcSettings | None:
    issuer = env.get("OIDC_ISSUER", "").strip()
    client_id, secret = env.get("OIDC_CLIENT_ID", "").strip(), env.get("OIDC_CLIENT_SECRET", "").strip()
    if not (issuer or client_id or secret):
        return None
    if not (issuer and client_id and secret):
        raise ConfigError("OIDC_ISSUER, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET must be set together (or none of them)")
    parts = urlsplit(issuer)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError("OIDC_ISSUER: must be the identity provider's absolute https URL, e.g. https://sso.dichvucong.gov.vn")
    claim = env.get("OIDC_PERSONAL_ID_CLAIM", "").strip() or None
    return OidcSettings(issuer=issuer, client_id=client_id, client_secret=secret, personal_id_claim=claim,
                        required_for_officers=env.get("OIDC_REQUIRED_FOR_OFFICERS", "").strip() in ("1", "true"),
                        scope=env.get("OIDC_SCOPE", "").strip() or "openid profile phone")


# -- the settings of this process ------------------------------------------------------------------
# create_app and the `motcua` command install the settings they were given; domain code that has no request
# at hand (the deadline calendar, the rate limits, the push worker) reads them with current().
_current: Settings | None = None


def install(settings: Settings) -> Settings:
    global _current
    _current = settings
    return settings


def current() -> Settings:
    """The installed settings; before any (tests driving domain code directly), the environment's tunables
    on top of empty placeholders for the rest, read once."""
    global _current
    if _current is None:
        _current = Settings(data_dir=Path("data").resolve(), database_url="", storage=StorageSettings(kind="file"),
                            secret_key="", vapid_private_pem=b"", vapid_public_pem=b"",
                            vapid_subject="mailto:admin@motcua.local", public_url=None, **tunables(dict(os.environ)))
    return _current


def _database_url(value: str | None, data_dir: Path) -> str:
    if not value:
        return f"sqlite://{data_dir / 'motcua.sqlite3'}"
    parts = urlsplit(value)
    if parts.scheme == "sqlite":
        if not (parts.netloc + parts.path):
            raise ConfigError("DATABASE_URL: a SQLite URL needs a file path, e.g. sqlite:///var/lib/motcua/motcua.sqlite3")
        return value
    if parts.scheme in ("postgres", "postgresql", "asyncpg"):
        if not parts.hostname or not parts.path.strip("/"):
            raise ConfigError(
                "DATABASE_URL: a PostgreSQL URL needs a host and a database name, "
                "e.g. postgres://user:password@127.0.0.1:5432/motcua"
            )
        # tortoise-orm names the asyncpg driver "postgres"
        return "postgres" + value[len(parts.scheme):]
    raise ConfigError(
        f"DATABASE_URL: unsupported scheme {parts.scheme!r}; use sqlite:///path/to/file.sqlite3 "
        "or postgres://user:password@host:5432/database"
    )


def _storage(env: dict[str, str], data_dir: Path, create: bool) -> StorageSettings:
    value = env.get("STORAGE_URL")
    if not value:
        path = data_dir / "blobs"
        if create:
            path.mkdir(parents=True, exist_ok=True)
        return StorageSettings(kind="file", path=path)
    parts = urlsplit(value)
    if parts.scheme == "file":
        if not parts.path:
            raise ConfigError("STORAGE_URL: a file URL needs a folder, e.g. file:///var/lib/motcua/blobs")
        path = Path(parts.path)
        if create:
            path.mkdir(parents=True, exist_ok=True)
        return StorageSettings(kind="file", path=path)
    if parts.scheme == "s3":
        if not parts.hostname:
            raise ConfigError("STORAGE_URL: name the bucket, e.g. s3://motcua-files?endpoint=http://127.0.0.1:8333")
        query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        unknown = set(query) - {"endpoint", "region", "path_style"}
        if unknown:
            raise ConfigError(
                f"STORAGE_URL: unknown option {sorted(unknown)[0]!r}; use only endpoint, region and path_style"
            )
        endpoint = query.get("endpoint")
        if endpoint and urlsplit(endpoint).scheme not in ("http", "https"):
            raise ConfigError("STORAGE_URL: endpoint must be an http:// or https:// URL, e.g. endpoint=http://127.0.0.1:8333")
        access_key = env.get("S3_ACCESS_KEY_ID") or env.get("AWS_ACCESS_KEY_ID")
        secret_key = env.get("S3_SECRET_ACCESS_KEY") or env.get("AWS_SECRET_ACCESS_KEY")
        if bool(access_key) != bool(secret_key):
            raise ConfigError("S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY must be set together (or neither)")
        path_style = query.get("path_style", "false").lower()
        if path_style not in ("true", "false", "1", "0"):
            raise ConfigError("STORAGE_URL: path_style must be true or false")
        return StorageSettings(
            kind="s3",
            bucket=parts.hostname,
            endpoint_url=endpoint,
            region=query.get("region", "us-east-1"),
            path_style=path_style in ("true", "1"),
            access_key=access_key,
            secret_key=secret_key,
        )
    raise ConfigError(
        f"STORAGE_URL: unsupported scheme {parts.scheme!r}; use file:///folder or s3://bucket?endpoint=…&region=…"
    )


def _secret_key(value: str | None, data_dir: Path, create: bool) -> str:
    if value:
        if len(value) < 32:
            raise ConfigError(
                "SECRET_KEY: too short (at least 32 characters); generate one with "
                "python3 -c 'import secrets; print(secrets.token_urlsafe(48))'"
            )
        return value
    path = data_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    if not create:
        raise ConfigError("SECRET_KEY: not set; set it or run `motcua serve` once to generate one under ./data")
    key = secrets.token_urlsafe(48)
    _write_private(path, key)
    return key


def _vapid(env: dict[str, str], data_dir: Path, create: bool) -> dict[str, Any]:
    subject = env.get("VAPID_SUBJECT") or "mailto:admin@motcua.local"
    if not (subject.startswith("mailto:") or subject.startswith("https://")):
        raise ConfigError("VAPID_SUBJECT: must start with mailto: or https://, e.g. mailto:motcua@example.gov.vn")
    private, public = env.get("VAPID_PRIVATE_KEY"), env.get("VAPID_PUBLIC_KEY")
    if bool(private) != bool(public):
        raise ConfigError("VAPID_PRIVATE_KEY and VAPID_PUBLIC_KEY must be set together (PEM text or paths to PEM files)")
    if private and public:
        private_pem, public_pem = _pem("VAPID_PRIVATE_KEY", private), _pem("VAPID_PUBLIC_KEY", public)
    else:
        private_path, public_path = data_dir / "vapid_private.pem", data_dir / "vapid_public.pem"
        if not private_path.exists():
            if not create:
                raise ConfigError("VAPID_PRIVATE_KEY: not set; set it or run `motcua serve` once to generate keys")
            new_private, new_public, _ = VAPID.generate_keys()
            _write_private(private_path, new_private.decode())
            public_path.write_bytes(new_public)
        private_pem, public_pem = private_path.read_bytes(), public_path.read_bytes()
    try:
        VAPID(private_key=private_pem, public_key=public_pem)
    except Exception:
        raise ConfigError("VAPID_PRIVATE_KEY / VAPID_PUBLIC_KEY: not a P-256 key pair in PEM format; "
                          "generate one with `motcua vapid generate`") from None
    return {"vapid_private_pem": private_pem, "vapid_public_pem": public_pem, "vapid_subject": subject}


def _pem(name: str, value: str) -> bytes:
    if value.lstrip().startswith("-----BEGIN"):
        return value.encode()
    path = Path(value)
    if not path.is_file():
        raise ConfigError(f"{name}: neither PEM text nor a readable file: {value}; set it to the PEM text or the path of a PEM file")
    return path.read_bytes()


def _public_url(value: str | None) -> str | None:
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError("PUBLIC_URL: must be an absolute http(s) URL, e.g. https://motcua.phutho.gov.vn")
    return value.rstrip("/")


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
