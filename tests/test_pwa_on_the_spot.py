""""4 tại chỗ" in the app: on a procedure the province designates (catalog `on_the_spot: true`), the intake officer
receives, appraises, approves and returns on the spot from the queue, with no specialist and no leader
(docs/domain.md "Sign-off", docs/workflow.md "Approval and return"). On any other procedure the same officer is not
offered the processing steps (tests/test_workflow_steps.py checks that the server refuses them).

Its own server: the shared one must keep TEST.0001 an ordinary procedure.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import OFFICER_PASSWORD, OFFICERS, ROOT, SUITE_RATE_LIMITS, motcua_env, run_motcua, start_server
from tests.test_pwa import browser, context, open_app, phone, sign_in  # noqa: F401 - fixtures
from tests.test_pwa_intake import draw_signature
from tests.test_pwa_queue import card, go_to_queue, officer, submitted_online, wait_status


@pytest.fixture(scope="module")
def spot_server(tmp_path_factory, fresh_database):
    data_dir = tmp_path_factory.mktemp("on-the-spot") / "data"
    catalog = json.loads((ROOT / "tests" / "data" / "catalog-test.json").read_text(encoding="utf-8"))
    entries = catalog["procedures"] if isinstance(catalog, dict) else catalog
    for entry in entries:
        entry["on_the_spot"] = True  # the province designates TEST.0001 "4 tại chỗ"
    designated = data_dir.parent / "catalog-on-the-spot.json"
    designated.write_text(json.dumps(catalog, ensure_ascii=False), encoding="utf-8")
    env = motcua_env(data_dir, fresh_database(), MOTCUA_RATE_LIMITS=SUITE_RATE_LIMITS)
    run_motcua(["migrate"], env)
    run_motcua(["seed"], env)
    run_motcua(["catalog", "import", str(designated)], env)
    desk = OFFICERS["intake"]
    run_motcua(["user", "add", "--phone", desk.phone, "--name", desk.name, "--role", desk.role, "--unit", desk.unit,
                "--password", OFFICER_PASSWORD], env)
    running = start_server(env, cwd=data_dir.parent, data_dir=Path(env["MOTCUA_DATA_DIR"]))
    yield running
    running.stop()


def step(page, dossier_id: str, label: str, then_status: int) -> None:
    """One tap on a step of the card; a step with a form (the return) is confirmed by the caller."""
    card(page, dossier_id).get_by_role("button", name=label, exact=True).click()
    wait_status(page, dossier_id, then_status)


def test_the_intake_officer_receives_appraises_approves_and_returns_on_the_spot(spot_server, context, phone):
    dossier_id = submitted_online(spot_server, "Đinh Thị Lan")
    open_app(phone, spot_server)
    sign_in(phone, OFFICERS["intake"].phone, OFFICER_PASSWORD)
    go_to_queue(phone)
    wait_status(phone, dossier_id, 1)

    step(phone, dossier_id, "Tiếp nhận", 2)
    step(phone, dossier_id, "Bắt đầu xử lý", 4)
    # The result is ready and, on the spot, approved by the same officer: no leader's signature is waited for.
    card(phone, dossier_id).get_by_role("button", name="Đã có kết quả", exact=True).click()
    wait_status(phone, dossier_id, 9)
    assert card(phone, dossier_id).get_by_role("button", name="Ký duyệt kết quả").count() == 0
    desk = officer(spot_server, "intake")
    ready = desk.get(f"/api/dossiers/{dossier_id}").json()
    assert ready["status"] == 9 and ready["substatus"] != "drafted", ready

    # The hand-over at the desk: the person collecting signs, as for any return.
    card(phone, dossier_id).get_by_role("button", name="Trả kết quả").click()
    card(phone, dossier_id).get_by_label("Họ tên người nhận kết quả (tại bộ phận một cửa)").fill("Đinh Thị Lan")
    draw_signature(phone)
    card(phone, dossier_id).get_by_role("button", name="Lưu chữ ký").click()
    card(phone, dossier_id).get_by_text("Đã lưu chữ ký.").wait_for()
    card(phone, dossier_id).get_by_role("button", name="Xác nhận").click()
    wait_status(phone, dossier_id, 10)
    events = desk.get(f"/api/dossiers/{dossier_id}/events").json()["items"]
    assert [e["action"] for e in events][-4:] == ["receive", "start", "finish", "return"]
    # Only this officer acted: the server would have refused start and finish to an intake officer elsewhere, and a
    # result waiting for a leader would have stayed "drafted" (substatus) with no return possible.
