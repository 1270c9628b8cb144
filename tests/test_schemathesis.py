"""Schemathesis against /api/openapi.json of a running server, signed in as each role in turn (a citizen, a
desk officer, a specialist, a leader): no answer is a 5xx, and every answer matches the schema the document gives
for its status.

Each operation gets EXAMPLES generated requests per role (Hypothesis, valid and invalid data mixed, derandomised
so a CI run is repeatable). The server has its own database, with rate limits off (many requests, one address).
"""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance

from server.web.openapi import SPEC
from tests.conftest import OFFICER_PASSWORD, OFFICERS, VALID_FORM, VINH_YEN, motcua_env, run_motcua, start_server, \
    unique_phone

EXAMPLES = 60
ROLES = ["citizen", "intake", "specialist", "leader"]
# Signing this browser out (or out everywhere) would leave the rest of the run anonymous; the access table
# (tests/test_access_table.py) covers these.
SKIPPED = {("DELETE", "/api/session"), ("POST", "/api/session/everywhere")}
OPERATIONS = [(method.upper(), path) for path, item in SPEC["paths"].items() for method in item
              if method in ("get", "post", "put", "patch", "delete") and (method.upper(), path) not in SKIPPED]


@pytest.fixture(scope="module")
def role_server(tmp_path_factory, fresh_database):
    """The server, and for each role the headers of a signed-in browser of that role."""
    data_dir = tmp_path_factory.mktemp("schemathesis") / "data"
    env = motcua_env(data_dir, fresh_database(), MOTCUA_RATE_LIMITS="off")
    run_motcua(["migrate"], env)
    run_motcua(["seed"], env)
    run_motcua(["catalog", "import", str(Path(__file__).parent / "data" / "catalog-test.json")], env)
    for key in ROLES[1:]:
        officer = OFFICERS[key]
        run_motcua(["user", "add", "--phone", officer.phone, "--name", officer.name, "--role", officer.role,
                    "--unit", officer.unit, "--password", OFFICER_PASSWORD], env)
    server = start_server(env, cwd=data_dir.parent, data_dir=data_dir)
    headers: dict[str, dict[str, str]] = {}
    for role in ROLES:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            csrf = http.get("/api/session").json()["csrf_token"]
            if role == "citizen":
                created = http.post("/api/accounts", json={"phone": unique_phone(), "password": "mat-khau-dai-lam",
                                                           "full_name": "Đinh Thị Hoa"}, headers={"X-CSRF-Token": csrf})
                assert created.status_code == 201, created.text
                # A dossier of theirs, so generated ids sometimes meet a real one.
                http.post("/api/dossiers", json={"id": str(uuid.uuid4()), "procedure_code": "TEST.0001",
                                                 "data": VALID_FORM, "submit": True, "unit_code": VINH_YEN},
                          headers={"X-CSRF-Token": csrf})
            else:
                signed = http.post("/api/session", json={"phone": OFFICERS[role].phone, "password": OFFICER_PASSWORD},
                                   headers={"X-CSRF-Token": csrf})
                assert signed.status_code == 200, signed.text
                csrf = signed.json().get("csrf_token", csrf)
            cookie = "; ".join(f"{name}={value}" for name, value in http.cookies.items())
            headers[role] = {"Cookie": cookie, "X-CSRF-Token": csrf}
    yield server, headers
    server.stop()


@pytest.fixture(scope="module")
def schema(role_server):
    server, _ = role_server
    return schemathesis.openapi.from_url(f"{server.url}/api/openapi.json")


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("method,path", OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_no_server_error_and_answers_match_the_schema(role_server, schema, method, path, role):
    server, headers_of = role_server
    headers = headers_of[role]
    operation = schema[path][method]

    @given(case=operation.as_strategy())
    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    def run(case):
        case.call_and_validate(base_url=server.url, headers=headers,
                               checks=[not_a_server_error, response_schema_conformance])

    run()


def test_every_api_route_is_in_the_openapi_document(tmp_path):
    """What is not documented is not fuzzed: every /api/ route must be in SPEC."""
    from server.app import create_app, endpoints
    from server.config import load_settings

    app = create_app(load_settings({"MOTCUA_DATA_DIR": str(tmp_path)}))
    missing = [f"{method} {path}" for path, route in endpoints(app.routes)
               if path.startswith("/api/") and path != "/api/openapi.json"
               for method in sorted(route.methods - {"HEAD"})
               if method.lower() not in SPEC["paths"].get(path, {})]
    assert not missing, f"document these in server/web/openapi.py: {missing}"
