"""Every API endpoint tried as every role, against a table of what each may do (docs/access.md).

The roles are the columns of ROLES: a stranger, the citizen who owns the dossier, another citizen, an intake
officer of the dossier's unit, an intake officer of another unit, the unit's leader and its admin. Each row
of TABLE is one request and the status each role gets. A status says what happened to that role:
2xx done, 400/409/422 let in but the input was refused, 401 asked to sign in, 403 not allowed, 404 not
shown (a dossier one may not see is answered like a missing one).

To add an endpoint: add a row. `{dossier}`, `{attachment}`, `{phone}` and `{uuid}` in paths and bodies are
filled in per request; a new route missing from the table fails `test_every_api_route_is_in_the_table`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from hashlib import sha256
from pathlib import Path
from typing import Any

import httpx
import pytest

from server.app import create_app, endpoints
from server.config import load_settings
from server.accounts.sessions import SESSION_COOKIE
from tests.conftest import OFFICER_PASSWORD, VALID_FORM, VIET_TRI, VINH_YEN, Api, motcua_env, run_motcua, start_server, unique_phone

ROLES = ("anonymous", "owner", "other_citizen", "unit_officer", "other_unit_officer", "leader", "admin")
OFFICER_ACCOUNTS = {  # role column → (phone, role, unit); this module's own accounts on its own database
    "unit_officer": ("0978100001", "intake", VINH_YEN),
    "other_unit_officer": ("0978100002", "intake", VIET_TRI),
    "leader": ("0978100003", "leader", VINH_YEN),
    "admin": ("0978100004", "admin", VINH_YEN),
}
CITIZEN_PASSWORD = "mat-khau-cong-dan"


@dataclass(frozen=True)
class Row:
    method: str
    path: str
    expected: str  # one status per role, in ROLES order
    body: Any = None
    note: str = ""

    def statuses(self) -> dict[str, int]:
        codes = [int(code) for code in self.expected.split()]
        assert len(codes) == len(ROLES), self
        return dict(zip(ROLES, codes))


# A citizen's draft for the unit; an intake officer files the same for their own unit only (at the desk).
NEW_DOSSIER = {"id": "{uuid}", "procedure_code": "TEST.0001", "data": VALID_FORM, "unit_code": VINH_YEN}
PAGE = {"id": "{uuid}", "dossier_id": "{dossier}", "document": "Tờ khai", "page": 2, "sha256": "a" * 64,
        "size": 1000, "content_type": "image/jpeg"}
#                                     anon owner other unit else leader admin
TABLE: list[Row] = [
    # Open to everyone.
    Row("GET", "/api/session", "200 200 200 200 200 200 200"),
    Row("GET", "/api/procedures", "200 200 200 200 200 200 200"),
    Row("GET", "/api/procedures/TEST.0001", "200 200 200 200 200 200 200"),
    Row("GET", "/api/procedures/forms?codes=TEST.0001", "200 200 200 200 200 200 200"),
    Row("GET", "/api/units", "200 200 200 200 200 200 200"),
    Row("GET", "/api/calendar", "200 200 200 200 200 200 200"),
    Row("GET", "/api/workflow", "200 200 200 200 200 200 200"),
    Row("GET", "/api/push/key", "200 200 200 200 200 200 200"),
    Row("GET", "/api/openapi.json", "200 200 200 200 200 200 200"),
    Row("POST", "/api/track", "404 404 404 404 404 404 404", {"code": "08707-010125-9999", "digits": "1234"},
        "tracking is public; an unknown code is 404 for all"),
    Row("POST", "/api/session", "401 401 401 401 401 401 401", {"phone": "{phone}", "password": "sai-mat-khau"}),
    Row("DELETE", "/api/session", "200 200 200 200 200 200 200"),
    # Only strangers register.
    Row("POST", "/api/accounts", "201 403 403 403 403 403 403",
        {"phone": "{phone}", "password": "mat-khau-dai", "full_name": "Người Mới"}),
    # Any account.
    Row("POST", "/api/account/password", "401 400 400 400 400 400 400",
        {"current_password": "khong-dung", "new_password": "mat-khau-moi-dai"}),
    Row("POST", "/api/session/everywhere", "401 200 200 200 200 200 200"),
    Row("GET", "/api/dossiers", "401 200 200 200 200 200 200"),
    Row("POST", "/api/sync", "401 200 200 200 200 200 200", {"device_id": "dev-{uuid}", "mutations": []}),
    Row("GET", "/api/push/subscriptions", "401 200 200 200 200 200 200"),
    Row("POST", "/api/push/subscriptions", "401 400 400 400 400 400 400", {"endpoint": "http://not-https"}),
    Row("DELETE", "/api/push/subscriptions/999999", "401 404 404 404 404 404 404"),
    Row("GET", "/api/notices", "401 200 200 200 200 200 200"),
    Row("POST", "/api/notices/999999/read", "401 404 404 404 404 404 404"),
    Row("POST", "/api/notices/zalo/events", "404 404 404 404 404 404 404", body={"event_name": "follow"},
        note="no Zalo webhook configured here; the signature decides, not the session"),
    Row("GET", "/api/account/channels", "401 200 200 200 200 200 200"),
    Row("PUT", "/api/account/channels", "401 200 200 200 200 200 200", {"stopped": []}),
    Row("GET", "/api/me/documents", "401 200 200 200 200 200 200"),
    # Creating dossiers: citizens for themselves, intake officers at the desk for a citizen.
    Row("POST", "/api/dossiers", "401 201 201 201 403 403 403", NEW_DOSSIER),
    # The dossier (submitted by the owner to the officers' unit): its owner and its unit's officers only.
    Row("GET", "/api/dossiers/{dossier}", "401 200 404 200 404 200 200"),
    Row("GET", "/api/dossiers/{dossier}/events", "401 200 404 200 404 200 200"),
    Row("GET", "/api/dossiers/{dossier}/attachments", "401 200 404 200 404 200 200"),
    Row("GET", "/api/dossiers/{dossier}/rating", "401 200 404 200 404 200 200"),
    Row("POST", "/api/dossiers/{dossier}/rating", "401 400 404 403 404 403 403", {"value": 3},
        "only the owner rates, once the dossier is returned (this one is not yet: 400)"),
    Row("POST", "/api/dossiers/{dossier}/attachments/reuse", "401 404 404 403 404 403 403",
        {"attachment_id": "{uuid}"}, "only the owner reuses their own pages (an unknown page: 404)"),
    Row("POST", "/api/attachments", "401 201 404 201 404 201 201", PAGE),
    Row("GET", "/api/attachments/{attachment}", "401 200 404 200 404 200 200"),
    Row("GET", "/api/attachments/{attachment}/upload", "401 200 404 200 404 200 200"),
    Row("POST", "/api/attachments/{attachment}/finalize", "401 409 404 409 404 409 409"),
    Row("PATCH", "/api/attachments/{attachment}", "401 400 404 400 404 400 400", {}),
    # Claiming a walk-in dossier (docs/workflow.md "Desk and field intake"): citizens only; an unknown code or
    # another account's claim is not found. This module's server has no SMS gateway, so a citizen's claim by code is
    # refused before the code is looked at (409 sms_unavailable; the 404 of an unknown code: tests/test_claims.py).
    Row("POST", "/api/claims", "401 409 409 403 403 403 403", {"code": "KHONG-CO-MA-NAY"},
        "citizens only; without an SMS gateway: 503"),
    Row("POST", "/api/claims/{uuid}/confirm", "401 404 404 403 403 403 403", {"code": "123456"}),
    # Officers' tools.
    Row("POST", "/api/code-blocks", "401 403 403 200 200 403 403", {"device_id": "dev-{uuid}"}),
    # A unit's identifier code (Decision 20/2020/QĐ-TTg): administrators only, their own unit or below it.
    Row("PATCH", f"/api/units/{VINH_YEN}", "401 403 403 403 403 403 200", {"agency_code": None}),
    Row("PATCH", f"/api/units/{VIET_TRI}", "401 403 403 403 403 403 403", {"agency_code": None},
        note="another commune: not the administrator's unit"),
    # Payments (docs/payments.md): what is owed, to whoever reads the dossier; the unit's collection account, its
    # administrators; its bank statements, its desk and leader only (a JSON body is no statement: 400).
    Row("GET", "/api/dossiers/{dossier}/payment", "401 200 404 200 404 200 200"),
    Row("PUT", f"/api/units/{VINH_YEN}/collection-account", "401 403 403 403 403 403 200",
        {"bank_bin": "970415", "number": "0011001932418", "name": "UBND PHUONG VINH YEN"}),
    Row("PUT", f"/api/units/{VIET_TRI}/collection-account", "401 403 403 403 403 403 403",
        {"bank_bin": "970415", "number": "0011001932418", "name": "UBND PHUONG VIET TRI"},
        note="another commune: not the administrator's unit"),
    # Read by the unit's officers (a field phone shows the VietQR code offline) and its administrators.
    Row("GET", f"/api/units/{VINH_YEN}/collection-account", "401 403 403 200 403 200 200"),
    Row("GET", f"/api/units/{VIET_TRI}/collection-account", "401 403 403 403 404 403 403",
        note="the other commune's desk reads its own, which is not set (404 no_collection_account)"),
    Row("POST", f"/api/units/{VINH_YEN}/statements", "401 403 403 400 403 400 403", {"not": "a statement"}),
    Row("GET", f"/api/units/{VINH_YEN}/payments", "401 403 403 200 403 200 403"),
    Row("GET", f"/api/units/{VIET_TRI}/payments", "401 403 403 403 200 403 403",
        note="the other commune's desk reads its own"),
    Row("POST", f"/api/units/{VINH_YEN}/payments/999999/resolve", "401 403 403 404 403 404 403",
        {"action": "dismiss", "reason": "không phải phí"}, note="the desk and leader of the unit; no such line (404)"),
    Row("POST", f"/api/units/{VIET_TRI}/payments/999999/resolve", "401 403 403 403 404 403 403",
        {"action": "dismiss", "reason": "không phải phí"}, note="the other commune's desk resolves its own"),
    Row("POST", "/api/dossiers/{dossier}/payment/gateway", "401 409 404 403 403 403 403",
        note="the owner only; this dossier owes nothing yet (409)"),
    Row("GET", "/api/payments/vnpay/ipn", "409 409 409 409 409 409 409", note="no gateway configured here"),
    Row("GET", "/api/payments/vnpay/return", "409 409 409 409 409 409 409", note="no gateway configured here"),
    Row("GET", "/api/statistics", "401 403 403 403 403 200 200"),
    # Pages guarded by role (a page answers a stranger with the sign-in page).
    Row("GET", "/officer", "303 403 403 200 200 200 200"),
    Row("GET", "/statistics", "303 403 403 403 403 200 200"),
    Row("GET", "/officer/payments", "303 403 403 200 200 200 403", note="the desk and the leader, of their own unit"),
    Row("GET", "/statistics.csv", "401 403 403 403 403 200 200"),
]


@pytest.fixture(scope="module")
def world(tmp_path_factory, fresh_database):
    """Its own database and server (limits off: the table sends many requests from one address)."""
    data_dir = tmp_path_factory.mktemp("access-table") / "data"
    env = motcua_env(data_dir, fresh_database(), MOTCUA_RATE_LIMITS="off")
    run_motcua(["migrate"], env)
    run_motcua(["seed"], env)
    run_motcua(["catalog", "import", str(Path(__file__).parent / "data" / "catalog-test.json")], env)
    for phone, role, unit in OFFICER_ACCOUNTS.values():
        run_motcua(["user", "add", "--phone", phone, "--name", f"Cán bộ {role}", "--role", role, "--unit", unit,
                    "--password", OFFICER_PASSWORD], env)
    server = start_server(env, cwd=data_dir.parent, data_dir=data_dir)
    clients: dict[str, Api | None] = {"anonymous": None}
    for column in ("owner", "other_citizen"):
        client = Api(server.url)
        client.phone, client.password = unique_phone(), CITIZEN_PASSWORD
        response = client.post("/api/accounts", {"phone": client.phone, "password": CITIZEN_PASSWORD,
                                                 "full_name": "Nguyễn Văn Chủ"})
        assert response.status_code == 201, response.text
        clients[column] = client
    for column, (phone, _, _) in OFFICER_ACCOUNTS.items():
        client = Api(server.url)
        client.phone, client.password = phone, OFFICER_PASSWORD
        client.sign_in(phone, OFFICER_PASSWORD)
        clients[column] = client
    owner = clients["owner"]
    dossier = owner.post("/api/dossiers", {"id": str(uuid.uuid4()), "procedure_code": "TEST.0001", "data": VALID_FORM,
                                           "submit": True, "unit_code": VINH_YEN})
    assert dossier.status_code == 201, dossier.text
    page = owner.post("/api/attachments", {**PAGE, "id": str(uuid.uuid4()), "dossier_id": dossier.json()["id"], "page": 1,
                                           "sha256": sha256(b"x").hexdigest()})
    assert page.status_code == 201, page.text
    yield server, clients, {"dossier": dossier.json()["id"], "attachment": page.json()["attachment"]["id"]}
    server.stop()


def fill(value: Any, names: dict[str, str]) -> Any:
    if isinstance(value, str):
        names = {**names, "uuid": str(uuid.uuid4()), "phone": unique_phone()}
        for name, text in names.items():
            value = value.replace("{" + name + "}", text)
        return value
    if isinstance(value, dict):
        return {key: fill(item, names) for key, item in value.items()}
    return value


def as_role(server, client: Api | None) -> tuple[httpx.Client, dict[str, str]]:
    """A copy of the role's browser for one request, so signing out in one row does not affect the next."""
    http = httpx.Client(base_url=server.url, timeout=30, follow_redirects=False)
    if client is None:
        csrf = http.get("/api/session").json()["csrf_token"]
    else:
        for cookie in client.http.cookies.jar:
            http.cookies.set(cookie.name, cookie.value, domain=cookie.domain, path=cookie.path)
        csrf = client.csrf
    return http, {"X-CSRF-Token": csrf}


@pytest.mark.parametrize("row", TABLE, ids=[f"{row.method} {row.path}" for row in TABLE])
def test_each_role_gets_what_the_table_says(world, row):
    server, clients, names = world
    seen = {}
    for role in ROLES:
        http, headers = as_role(server, clients[role])
        try:
            response = http.request(row.method, fill(row.path, names), headers=headers,
                                    json=fill(row.body, names) if row.body is not None else None)
            renewed = response.cookies.get(SESSION_COOKIE)
            if renewed and clients[role] is not None:  # a password change or "everywhere" re-signs this browser
                clients[role].http.cookies.set(SESSION_COOKIE, renewed, domain="127.0.0.1", path="/")
            elif (row.method, row.path) == ("DELETE", "/api/session") and clients[role] is not None:
                # Sessions live on the server: signing out ended this role's one, so it signs in again.
                clients[role].sign_in(clients[role].phone, clients[role].password)
        finally:
            http.close()
        seen[role] = response.status_code
    assert seen == row.statuses(), f"{row.method} {row.path}: got {seen}"


def test_every_api_route_is_in_the_table(tmp_path):
    app = create_app(load_settings({"MOTCUA_DATA_DIR": str(tmp_path)}))  # built, not started: only its routes are read
    tabled = {(row.method, _template(row.path)) for row in TABLE}
    missing = []
    for path, route in endpoints(app.routes):
        if not path.startswith("/api/"):
            continue
        for method in sorted(route.methods - {"HEAD"}):
            if (method, path) not in tabled:
                missing.append(f"{method} {path}")
    assert not missing, f"add rows to TABLE for: {missing}"


def _template(path: str) -> str:
    return (path.split("?")[0].replace("{dossier}", "{id}").replace("TEST.0001", "{code}").replace("{attachment}", "{id}")
            .replace("/payments/999999/", "/payments/{line_id}/").replace("/999999", "/{id}").replace(f"/units/{VINH_YEN}", "/units/{code}")
            .replace(f"/units/{VIET_TRI}", "/units/{code}").replace("/claims/{uuid}", "/claims/{id}"))

