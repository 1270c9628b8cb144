"""The VietQR text built on the device (pwa/static/js/vietqr.js) is the server's (server/payments/vietqr.py) byte for
byte: tests/data/vietqr_cases.json (the published example, Vietnamese notes, large amounts) through both, and a few
hundred made notes and amounts through both in a real headless Chromium (docs/payments.md "VietQR")."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from server.payments.obligation import transfer_note
from server.payments.vietqr import CollectionAccount, parse, payload
from tests.browser import chromium, serve_static

ROOT = Path(__file__).resolve().parent.parent
CASES = json.loads((ROOT / "tests" / "data" / "vietqr_cases.json").read_text(encoding="utf-8"))["cases"]
PIECES = ["Đăng ký", "khai sinh", "ủng hộ", "lũ lụt", "Ông/Bà", "MC.08707-261125-0042", "#", "%", " ", "ﬁ", "²",
          "Nguyễn Thị Ánh", "ĐỒNG", "ỷ", "e\u0301", "😀", "\t", "-", ".", "000.00.01.H57-261125-10042"]


def made_cases(count: int = 300) -> list[dict]:
    rng = random.Random(20261206)
    accounts = [{"bank_bin": case["account"]["bank_bin"], "number": case["account"]["number"]} for case in CASES]
    return [{"account": rng.choice(accounts), "amount_vnd": rng.choice([1, 999, 15000, rng.randrange(1, 10 ** 13)]),
             "note": "".join(rng.choice(PIECES) for _ in range(rng.randint(0, 8)))} for _ in range(count)]


RUN = """async (text) => {
    const { vietqrPayload, transferNote } = await import('/js/vietqr.js');
    const input = JSON.parse(text);
    return JSON.stringify({
        payloads: input.cases.map((c) => vietqrPayload(c.account, c.amount_vnd, c.note)),
        notes: input.codes.map(transferNote),
        refused: input.refused.map((c) => { try { vietqrPayload(c.account, c.amount_vnd, "X"); return false; }
                                            catch (error) { return true; } }),
    });
}"""
CODES = ["MC.08707-261125-0042", "000.00.01.H57-261125-0042", "000.00.01.H57-261125-10042", "A" * 30]
REFUSED = [{"account": {"bank_bin": "97041", "number": "1"}, "amount_vnd": 1000},
           {"account": {"bank_bin": "970415", "number": "12 34"}, "amount_vnd": 1000},
           {"account": {"bank_bin": "970415", "number": "1" * 20}, "amount_vnd": 1000},
           {"account": {"bank_bin": "970415", "number": "1"}, "amount_vnd": 0},
           {"account": {"bank_bin": "970415", "number": "1"}, "amount_vnd": 1.5},
           {"account": {"bank_bin": "970415", "number": "1"}, "amount_vnd": 10 ** 13}]


def python_payload(case: dict) -> str:
    account = CollectionAccount(case["account"]["bank_bin"], case["account"]["number"], "")
    return payload(account, case["amount_vnd"], case["note"])


@pytest.fixture(scope="module")
def js_results():
    cases = CASES + made_cases()
    with serve_static() as static_url, chromium() as browser:
        page = browser.new_page()
        page.goto(static_url + "/")
        result = json.loads(page.evaluate(RUN, json.dumps({"cases": cases, "codes": CODES, "refused": REFUSED})))
    return cases, result


def test_the_server_gives_each_listed_payload():
    for case in CASES:
        assert python_payload(case) == case["payload"], case["name"]
        parse(case["payload"])  # and its CRC checks
    assert CASES[0]["payload"].endswith("6304C15C")  # the published example of tests/test_vietqr.py


def test_the_device_gives_the_same_text_byte_for_byte(js_results):
    cases, result = js_results
    assert len(result["payloads"]) == len(cases) > 300
    mismatches = [(case, got) for case, got in zip(cases, result["payloads"]) if python_payload(case) != got]
    assert not mismatches, mismatches[:3]


def test_the_device_shortens_codes_and_refuses_what_the_server_refuses(js_results):
    _, result = js_results
    assert result["notes"] == [transfer_note(code) for code in CODES]
    assert result["refused"] == [True] * len(REFUSED)
