"""Tracking benchmark (run on demand, never in the test suite): does a miss by a wrong code take the same time
as a miss by wrong digits? And how long does a look-up take? Against a real server on loopback.

    PYTHONPATH=. /tmp/venv0/bin/python bench/tracking/run.py [--rounds 400] [--database-url postgres://…/db]

Each round sends, in a shuffled order, one look-up with the right code and wrong digits, one with an unknown
code of the same shape and the right digits, and one right look-up. Writes bench/results/tracking.json:
p50/p90 per kind in ms, the p50 difference between the two misses, and whether their bodies were identical.
If a rate limiter answers 429, the round is not counted (raise the limit for the run).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.conftest import OFFICER_PASSWORD, OFFICERS, ROOT as TESTS_ROOT, motcua_env, run_motcua, start_server  # noqa: E402
from tests.test_documents import received_dossier  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "tracking.json"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=400)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        data_dir = Path(folder) / "data"
        env = motcua_env(data_dir, args.database_url or f"sqlite://{folder}/motcua.sqlite3")
        run_motcua(["migrate"], env)
        run_motcua(["seed"], env)
        run_motcua(["catalog", "import", str(TESTS_ROOT / "tests" / "data" / "catalog-test.json")], env)
        for key in ("intake", "leader"):
            officer = OFFICERS[key]
            run_motcua(["user", "add", "--phone", officer.phone, "--name", officer.name, "--role", officer.role,
                        "--unit", officer.unit, "--password", OFFICER_PASSWORD], env)
        server = start_server(env, cwd=Path(folder), data_dir=data_dir)
        try:
            filed, dossier = received_dossier(server, with_page=False)
            code, digits = dossier["code"], filed.phone[-4:]
            wrong = "0000" if digits != "0000" else "1111"
            unknown = code[:-4] + ("9999" if not code.endswith("9999") else "9998")
            cases = {"wrong_digits": (code, wrong), "unknown_code": (unknown, digits), "right": (code, digits)}
            timings: dict[str, list[float]] = {name: [] for name in cases}
            bodies: dict[str, set[bytes]] = {name: set() for name in cases}
            limited = 0
            with httpx.Client(base_url=server.url, timeout=30) as client:
                for _ in range(20):  # warm up connections and caches
                    for code_value, digit_value in cases.values():
                        client.post("/api/track", json={"code": code_value, "digits": digit_value})
                for _ in range(args.rounds):
                    order = list(cases.items())
                    random.shuffle(order)
                    for name, (code_value, digit_value) in order:
                        started = time.perf_counter()
                        response = client.post("/api/track", json={"code": code_value, "digits": digit_value})
                        elapsed = (time.perf_counter() - started) * 1000
                        if response.status_code == 429:
                            limited += 1
                            continue
                        timings[name].append(elapsed)
                        bodies[name].add(response.content)
        finally:
            server.stop()
    result = {
        "database": "postgres" if args.database_url.startswith("postgres") else "sqlite",
        "rounds": args.rounds, "rate_limited": limited,
        **{f"{name}_p50_ms": round(statistics.median(values), 2) for name, values in timings.items() if values},
        **{f"{name}_p90_ms": round(percentile(values, 0.9), 2) for name, values in timings.items() if values},
        "miss_p50_difference_ms": round(abs(statistics.median(timings["wrong_digits"])
                                            - statistics.median(timings["unknown_code"])), 3),
        "miss_bodies_identical": bodies["wrong_digits"] == bodies["unknown_code"] and len(bodies["wrong_digits"]) == 1,
    }
    existing = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    existing[result["database"]] = result
    RESULTS.write_text(json.dumps(existing, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
