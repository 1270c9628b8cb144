"""The `motcua` command: serve, migrate, seed, user add, catalog import, units import, vapid generate."""

from __future__ import annotations

import argparse
import asyncio
import os
import getpass
import secrets
import sys
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from tortoise import Tortoise

from server import db
from server import config
from server.config import ConfigError, Settings, load_settings

if TYPE_CHECKING:  # for annotations only: the commands import the app and the models where they use them
    from starlette.applications import Starlette

    from server.models import User

T = TypeVar("T")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        settings = config.install(load_settings())  # malformed working hours or limits stop here, in one line
        return args.handler(settings, args) or 0
    except ConfigError as error:
        print(f"motcua: configuration error: {error}", file=sys.stderr)
        return 2
    except db.SchemaBehind as error:
        print(f"motcua: {error}", file=sys.stderr)
        return 2
    except CommandError as error:
        print(f"motcua: {error}", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"motcua: cannot reach the database or a file: {error}", file=sys.stderr)
        return 1


class CommandError(Exception):
    pass


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="motcua", description="Một cửa: the one-stop shop server.")
    commands = parser.add_subparsers(metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the web server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                       help="server processes (default: the number of cores)")
    serve.set_defaults(handler=cmd_serve)

    quickstart = commands.add_parser("quickstart", help="migrate, load the catalog and demo accounts, then serve")
    quickstart.add_argument("--host", default="127.0.0.1")
    quickstart.add_argument("--port", type=int, default=8000)
    quickstart.set_defaults(handler=cmd_quickstart)

    commands.add_parser("migrate", help="apply database migrations").set_defaults(handler=cmd_migrate)
    commands.add_parser("seed", help="load the shipped catalog, units and demo accounts (idempotent)").set_defaults(
        handler=cmd_seed)

    user = commands.add_parser("user", help="manage accounts").add_subparsers(metavar="ACTION")
    add = user.add_parser("add", help="create an officer (or citizen) account")
    add.add_argument("--phone", required=True)
    add.add_argument("--name", required=True)
    add.add_argument("--role", required=True, choices=["citizen", "intake", "specialist", "leader", "admin"])
    add.add_argument("--unit", help="code of the officer's administrative unit (required for officers)")
    add.add_argument("--password", help="if omitted, asked for (or generated when there is no terminal)")
    add.add_argument("--personal-id", help="the personal identification number (số định danh cá nhân, 12 digits) "
                     "the identity provider asserts for this person")
    add.set_defaults(handler=cmd_user_add)
    link = user.add_parser("set-personal-id", help="link an account to the identity provider by the personal "
                           "identification number it asserts (docs/operations.md, Identity provider)")
    link.add_argument("--phone", required=True)
    link.add_argument("--personal-id", required=True, help="12 digits, or 'none' to unlink")
    link.set_defaults(handler=cmd_user_set_personal_id)

    catalog = commands.add_parser("catalog", help="the procedure catalog").add_subparsers(metavar="ACTION")
    imp = catalog.add_parser("import", help="load or update procedures from a catalog file (docs/catalog.md)")
    imp.add_argument("file", nargs="?", type=Path, help="default: the shipped catalog")
    imp.add_argument("--format", dest="format", default="motcua", choices=["motcua", "dvcqg", "list"],
                     help="motcua: catalog JSON (default); dvcqg: national procedure-detail records (a file or a "
                          "folder); list: a decision annex list (.csv or .xlsx)")
    imp.add_argument("--effective-from", help="YYYY-MM-DD: the start date for entries whose source gives none")
    imp.set_defaults(handler=cmd_catalog_import)

    units = commands.add_parser("units", help="administrative units").add_subparsers(metavar="ACTION")
    uimp = units.add_parser("import", help="load unit files or a mapping file")
    uimp.add_argument("files", nargs="*", type=Path, help="default: the shipped files")
    uimp.set_defaults(handler=cmd_units_import)

    holidays = commands.add_parser("holidays", help="public holidays and make-up days").add_subparsers(
        metavar="ACTION")
    himp = holidays.add_parser("import", help="add or correct holidays and make-up days from a JSON file")
    himp.add_argument("file", nargs="?", type=Path, help="default: the shipped server/data/holidays.json")
    himp.set_defaults(handler=cmd_holidays_import)

    payments = commands.add_parser("payments", help="fees paid by transfer (docs/payments.md)").add_subparsers(
        metavar="ACTION")
    pimp = payments.add_parser("import", help="import a unit's bank statement (CSV or camt.053 XML) and match it")
    pimp.add_argument("--unit", required=True, help="code of the unit whose collection account the statement is")
    pimp.add_argument("--by", help="phone of the officer recorded as importing (default: the unit's first leader)")
    pimp.add_argument("file", type=Path)
    pimp.set_defaults(handler=cmd_payments_import)
    pquery = payments.add_parser("query-pending", help="ask the gateway (VNPAY querydr) about orders still pending "
                                 "whose notification never came, and record those it says were paid")
    pquery.add_argument("--older-than", type=int, default=5, metavar="MINUTES",
                        help="only orders started at least this long ago (default 5: time for the notification)")
    pquery.set_defaults(handler=cmd_payments_query_pending)

    storage = commands.add_parser("storage", help="the attachment store").add_subparsers(metavar="ACTION")
    storage.add_parser("init", help="create the bucket and set its CORS rules for direct uploads").set_defaults(
        handler=cmd_storage_init)

    demo = commands.add_parser("demo", help="fill a year of realistic demo dossiers for the statistics (after seed)")
    demo.add_argument("--dossiers", type=int, default=87_000, help="how many (default 87,000: the seeds' 2020 figure)")
    demo.add_argument("--year", type=int, help="the year received (default: this year, up to now)")
    demo.add_argument("--seed", type=int, default=2020, help="random seed: the same seed gives the same dossiers")
    demo.set_defaults(handler=cmd_demo)

    vapid = commands.add_parser("vapid", help="Web Push keys").add_subparsers(metavar="ACTION")
    vapid.add_parser("generate", help="print a new VAPID key pair (PEM)").set_defaults(handler=cmd_vapid_generate)

    worker = commands.add_parser("worker", help="send queued push notifications (several may run; docs/push.md)")
    worker.add_argument("--concurrency", type=int, default=32, help="push requests in flight (default 32)")
    worker.add_argument("--until-idle", action="store_true", help="stop once nothing is due")
    worker.set_defaults(handler=cmd_worker)
    return parser


def run(coroutine_factory: Callable[[], Awaitable[T]], settings: Settings, *, require_current: bool = True) -> T:
    async def wrapper() -> T:
        await db.connect(settings, require_current=require_current)
        try:
            return await coroutine_factory()
        finally:
            await db.disconnect()

    return asyncio.run(wrapper())


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    applied: list[str] = []

    def progress(event: str, app_label: str, name: str) -> None:
        if event == "apply_done":
            applied.append(name)
            print(f"  applied {app_label}.{name}")

    async def go() -> None:
        try:
            await db.migrate(settings, progress=progress)
        finally:
            await Tortoise.close_connections()

    asyncio.run(go())
    print(f"motcua: database is up to date ({len(applied)} migration(s) applied).")
    return 0


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from server.app import create_app

    async def check() -> None:
        await db.connect(settings)
        await db.disconnect()

    asyncio.run(check())
    address = (settings.public_url or f"http://{args.host}:{args.port}").rstrip("/")
    # The address a newcomer opens is the app's; the website (catalog, tracking, sign-up) is one tap from it.
    print(f"motcua đang chạy: mở ứng dụng tại / is running: open the app at {address}/app", flush=True)
    print(f"  trang thông tin / website: {address}/", flush=True)
    workers = max(1, getattr(args, "workers", 1) or 1)
    options = dict(host=args.host, port=args.port, log_level="warning", proxy_headers=True, server_header=False,
                   date_header=False)
    if workers == 1:
        uvicorn.run(create_app(settings), **options)
    else:  # each process builds its app from the same environment, on a listening socket of its own
        from server.workers import serve_workers

        serve_workers(workers, options)
    return 0


def app_factory() -> Starlette:
    """The app of one `motcua serve --workers N` process."""
    from server.app import create_app

    return create_app(config.install(load_settings()))


def cmd_quickstart(settings: Settings, args: argparse.Namespace) -> int:
    cmd_migrate(settings, args)
    cmd_seed(settings, args)
    return cmd_serve(settings, args)


def cmd_seed(settings: Settings, args: argparse.Namespace) -> int:
    from server.catalog.procedures import CatalogError
    from server.seed import DEMO_ACCOUNTS, seed
    from server.catalog.units import UnitsError

    try:
        summary = run(seed, settings)
    except CatalogError as error:
        raise CommandError("the shipped catalog was not loaded:\n  " + "\n  ".join(error.problems)) from None
    except UnitsError as error:
        raise CommandError(f"the shipped units were not loaded: {error}") from None
    print(f"motcua: catalog {summary['procedures']} procedures, {summary['units']} administrative units loaded.")
    print("Demo accounts (số điện thoại / mật khẩu):")
    for account in DEMO_ACCOUNTS:
        print(f"  {account.role_vi:<22} {account.phone} / {account.password}")
    return 0


def cmd_user_add(settings: Settings, args: argparse.Namespace) -> int:
    from server.accounts.users import add_user

    password = args.password
    generated = False
    if not password:
        if sys.stdin.isatty():
            password = getpass.getpass("Mật khẩu / password: ")
        else:
            password, generated = secrets.token_urlsafe(12), True

    async def go() -> User:
        return await add_user(phone=args.phone, name=args.name, role=args.role, unit_code=args.unit, password=password,
                              personal_id=args.personal_id)

    try:
        user = run(go, settings)
    except ValueError as error:
        raise CommandError(str(error)) from None
    print(f"motcua: created {user.role} {user.full_name} ({user.phone})"
          + (f" with password {password}" if generated else ""))
    return 0


def cmd_user_set_personal_id(settings: Settings, args: argparse.Namespace) -> int:
    from server.accounts.users import set_personal_id

    number = None if args.personal_id.lower() == "none" else args.personal_id

    async def go() -> User:
        return await set_personal_id(phone=args.phone, personal_id=number)

    try:
        user = run(go, settings)
    except ValueError as error:
        raise CommandError(str(error)) from None
    print(f"motcua: {user.full_name} ({user.phone}) " + (f"signs in as personal id {number}" if number
                                                          else "is no longer linked to a personal id"))
    return 0


def cmd_catalog_import(settings: Settings, args: argparse.Namespace) -> int:
    from server.catalog.procedures import DEFAULT_CATALOG, CatalogError, import_catalog

    path = args.file or DEFAULT_CATALOG
    fmt = getattr(args, "format", "motcua")
    start = getattr(args, "effective_from", None)
    if start is not None:
        try:
            start = date.fromisoformat(start).isoformat()
        except ValueError:
            raise CommandError(f"--effective-from {start!r} is not a date YYYY-MM-DD") from None
    try:
        if args.file is None and fmt == "motcua":
            from server.catalog.shipped import import_shipped_catalog

            report = run(import_shipped_catalog, settings)  # the hand-made procedures and the commune's list
            path = DEFAULT_CATALOG.parent
        else:
            report = run(lambda: import_catalog(path, fmt, effective_from=start), settings)
    except CatalogError as error:
        raise CommandError(f"{path} was not imported:\n  " + "\n  ".join(error.problems)) from None
    for note in report.notes:
        print(f"  reported: {note}")
    for code in report.kept:
        print(f"  kept: {code} is in the catalog with details; the list row was not applied")
    print(f"motcua: {len(report.created)} new, {len(report.new_versions)} new version(s), "
          f"{len(report.unchanged)} unchanged procedure(s) from {path}"
          + (f"; {len(report.kept)} kept; {len(report.notes)} reported" if fmt != "motcua" else ""))
    return 0


def cmd_units_import(settings: Settings, args: argparse.Namespace) -> int:
    from server.catalog.units import DEFAULT_FILES, UNITS_DIR, UnitsError, UnitsReport, import_units_file

    paths = args.files or [UNITS_DIR / name for name in DEFAULT_FILES]

    async def go() -> list[UnitsReport]:
        return [await import_units_file(path) for path in paths]

    try:
        reports = run(go, settings)
    except UnitsError as error:
        raise CommandError(str(error)) from None
    for report in reports:
        print(f"motcua: {report.file}: {report.units} unit(s), {report.links} mapping link(s)")
    return 0


def cmd_holidays_import(settings: Settings, args: argparse.Namespace) -> int:
    from server.workflow.holidays import DEFAULT_HOLIDAYS, HolidaysError, import_holidays

    path = args.file or DEFAULT_HOLIDAYS
    try:
        report = run(lambda: import_holidays(path), settings)
    except HolidaysError as error:
        raise CommandError(str(error)) from None
    print(f"motcua: {report.added} new, {report.changed} changed, {report.unchanged} unchanged day(s) from {path}")
    return 0


def cmd_payments_import(settings: Settings, args: argparse.Namespace) -> int:
    from server.models import LEADER, AdministrativeUnit, User
    from server.payments.reconcile import ImportReport, import_lines
    from server.payments.statements import MAX_BYTES, StatementError, read_statement

    try:
        with open(args.file, "rb") as handle:
            data = handle.read(MAX_BYTES + 1)
        lines = read_statement(data)
    except OSError as error:
        raise CommandError(f"cannot read {args.file}: {error.strerror}") from None
    except StatementError as error:
        raise CommandError(f"{args.file}: {error.en} ({error.vi})") from None

    async def go() -> ImportReport:
        unit = await AdministrativeUnit.filter(code=args.unit, valid_to__isnull=True).order_by("id").first()
        if unit is None:
            raise CommandError(f"no unit in force has the code {args.unit}")
        # Payments are recorded on an officer's behalf (the workflow's rule: intake, specialist or leader of the
        # unit), so the processing-control record says who imported.
        officers = User.filter(unit_id=unit.id, role__in=("intake", LEADER))
        user = await (officers.filter(phone=args.by) if args.by else officers.filter(role=LEADER)).order_by("id").first()
        if user is None:
            raise CommandError(f"no intake officer or leader of {args.unit}" +
                               (f" with the phone {args.by}" if args.by else "") + ": pass --by PHONE")
        return await import_lines(unit, user, lines)

    report = run(go, settings)
    counts = ", ".join(f"{count} {name}" for name, count in report.as_json()["outcomes"].items())
    print(f"motcua: {args.file}: {report.lines} credit line(s), {report.already_imported} already imported; {counts}")
    return 0


def cmd_payments_query_pending(settings: Settings, args: argparse.Namespace) -> int:
    from datetime import timedelta

    from server.payments.online import QueryReport, query_pending
    from server.payments.vnpay import Vnpay

    vnpay = settings.vnpay
    if vnpay is None or not vnpay.api_url:
        raise CommandError("no gateway to ask: set VNPAY_URL, VNPAY_TMN_CODE, VNPAY_HASH_SECRET and VNPAY_API_URL")
    if not 0 <= args.older_than <= 60 * 24 * 365:
        raise CommandError("--older-than: a number of minutes from 0 to a year")

    async def go() -> QueryReport:
        return await query_pending(Vnpay(vnpay), timedelta(minutes=args.older_than))

    report = run(go, settings)
    print(f"motcua: asked about {report.asked} pending order(s): {report.confirmed} confirmed paid, {report.pending} "
          f"not paid, {report.unanswered} unanswered, {report.refused} refused")
    return 0


def cmd_storage_init(settings: Settings, args: argparse.Namespace) -> int:
    from server.attachments.storage import StorageError, init_bucket

    try:
        lines = asyncio.run(init_bucket(settings))
    except StorageError as error:
        raise CommandError(str(error)) from None
    for line in lines:
        print(f"motcua: {line}")
    return 0


def cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    from server.notify.push.worker import run_command

    return run_command(settings, concurrency=args.concurrency, until_idle=args.until_idle)


def cmd_demo(settings: Settings, args: argparse.Namespace) -> int:
    import time

    from server.demo import DemoError, generate

    started = time.monotonic()
    try:
        report = run(lambda: generate(args.dossiers, args.year, args.seed, progress=print), settings)
    except DemoError as error:
        raise CommandError(str(error)) from None
    channels = ", ".join(f"{name} {count:,}" for name, count in sorted(report.by_channel.items()))
    print(f"motcua: {report.dossiers:,} demo dossiers received {report.start} to {report.end} ({channels}); "
          f"{report.returned:,} returned, {report.pending:,} pending, {report.ratings:,} ratings, "
          f"{report.events:,} events in {time.monotonic() - started:.0f} s. See /statistics.")
    return 0


def cmd_vapid_generate(settings: Settings, args: argparse.Namespace) -> int:
    from webpush.vapid import VAPID

    private, public, server_key = VAPID.generate_keys()
    print(private.decode() + public.decode() + f"# applicationServerKey: {server_key}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
