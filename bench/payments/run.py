"""Payments: how long reading a bank statement and making VietQR texts take (docs/benchmarks.md "Payments").

Run on demand, never in the test suite. From the repository root:

    PYTHONPATH=. /work/main/.venv/bin/python bench/payments/run.py [--lines 20000]

Reads a CSV statement and a camt.053 statement of `--lines` credit lines each (the most one import takes), five
times each, and makes 10,000 VietQR texts; prints and writes bench/results/payments.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT))

from server.payments.statements import read_statement  # noqa: E402
from server.payments.vietqr import CollectionAccount, payload  # noqa: E402


def csv_statement(lines: int) -> bytes:
    rows = ["SAO KÊ TÀI KHOẢN", "Số tài khoản:,0011001932418", "",
            "STT,Ngày giao dịch,Số tham chiếu,Số tiền ghi nợ,Số tiền ghi có,Số dư,Nội dung giao dịch"]
    rows += [f"{n},25/11/2026 09:{n % 60:02d}:00,FT{n:010d},,{15 + n % 7}.000,0,"
             f"NGUYEN VAN AN chuyen tien MC.08707-261125-{n % 10000:04d}" for n in range(1, lines + 1)]
    return "\n".join(rows).encode()


def camt_statement(lines: int) -> bytes:
    entries = "".join(
        f'<Ntry><Amt Ccy="VND">{15000 + n % 7 * 1000}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>'
        f"<BookgDt><Dt>2026-11-25</Dt></BookgDt><AcctSvcrRef>FT{n:010d}</AcctSvcrRef><NtryDtls><TxDtls><RmtInf>"
        f"<Ustrd>MC.08707-261125-{n % 10000:04d}</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>"
        for n in range(1, lines + 1))
    return (f'<?xml version="1.0" encoding="UTF-8"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">'
            f"<BkToCstmrStmt><Stmt>{entries}</Stmt></BkToCstmrStmt></Document>").encode()


def timed(data: bytes, rounds: int = 5) -> dict:
    times = []
    for _ in range(rounds):
        began = time.perf_counter()
        count = len(read_statement(data))
        times.append(time.perf_counter() - began)
    return {"lines": count, "bytes": len(data), "median_s": round(statistics.median(times), 3)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=20000)
    options = parser.parse_args()
    account = CollectionAccount("970415", "0011001932418", "UBND PHUONG VINH YEN")
    began = time.perf_counter()
    for n in range(10_000):
        payload(account, 15000 + n, f"MC.08707-261125-{n:04d}")
    qr_us = (time.perf_counter() - began) / 10_000 * 1e6
    results = {"csv": timed(csv_statement(options.lines)), "camt053": timed(camt_statement(options.lines)),
               "vietqr_payload_us": round(qr_us, 1)}
    print(json.dumps(results, indent=2))
    out = ROOT / "bench" / "results" / "payments.json"
    out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
