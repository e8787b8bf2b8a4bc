"""Benchmark: the harness end to end against the embedded platform, versus a bare requests loop.

    python bench/run.py [--suite NAME ...] [-k EXPR] [--skip-wall]

1. Starts the reference platform as its own process (its own core) on a free loopback port and runs
   the suites against it through `hsa-cert run --site` (pytest, plugin, runner, validation, checks,
   results, Allure): harness transactions/s = exchanges / the span from the first request to the
   end of the last response.
2. Starts a second, fresh platform process with the same seed and replays exactly the recorded
   requests, in order, with a bare `requests.Session` loop (pre-serialised bodies, only the
   sign-in number swapped for the new platform's): bare transactions/s. Prints the ratio
   (target >= 0.8) and how many replayed answers had the recorded infcode (replay fidelity).
3. Times `hsa-cert run` of the full default suite as a user runs it (a fresh process that starts
   its embedded platform): target <= 30 s on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

# bench/ holds other scripts (bench/platform.py) that would shadow stdlib modules of the same name.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import requests  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SERVE = (
    "import sys; from harness.platform.config import PlatformConfig; from harness.platform.server import serve; "
    "serve(PlatformConfig(db_path=sys.argv[1]), port=int(sys.argv[2]), log_level='warning')"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_platform(workdir: Path, name: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", SERVE, str(workdir / f"{name}.sqlite"), str(port)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit(f"the platform ({name}) did not start on port {port}")


def site_file(workdir: Path, url: str) -> Path:
    text = (ROOT / "fixtures" / "sites" / "embedded.toml").read_text(encoding="utf-8")
    text = text.replace('base_url = "http://127.0.0.1:8080"', f'base_url = "{url}"')
    path = workdir / "bench-site.toml"
    path.write_text(text, encoding="utf-8")
    return path


def harness_run(site: Path, out: Path, suites: list[str], keyword: str | None) -> list[dict]:
    args = [sys.executable, "-m", "harness", "run", "--site", str(site), "--out", str(out), "--seed", "1",
            "--no-mask"]
    for suite in suites:
        args += ["--suite", suite]
    if keyword:
        args += ["-k", keyword]
    done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, encoding="utf-8")
    if done.returncode not in (0, 1):
        sys.stderr.write(done.stdout[-3000:] + done.stderr[-3000:])
        raise SystemExit(f"hsa-cert run failed with exit code {done.returncode}")
    lines = (out / "exchanges.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def span_s(exchanges: list[dict]) -> float:
    starts = [datetime.fromisoformat(e["started_at"]).timestamp() for e in exchanges]
    ends = [s + e["elapsed_ms"] / 1000 for s, e in zip(starts, exchanges, strict=True)]
    return max(ends) - min(starts)


def bare_replay(exchanges: list[dict], url: str) -> tuple[float, int]:
    """Replay the recorded requests with a bare session; returns (seconds, answers with the recorded infcode).

    Bodies are serialised before the clock starts. Sign-in numbers are the only values a fresh
    platform cannot reproduce, so each recorded one is swapped (bytes) for the one the replayed
    9001 got; everything else is sent exactly as recorded.
    """
    session = requests.Session()
    session.trust_env = False
    headers = {"Content-Type": "application/json;charset=utf-8", "Accept": "application/json"}
    prepared = []
    for e in exchanges:
        target = url + "/" + e["url"].split("/", 3)[3]  # same path, the other platform
        recorded = json.loads(e["response"]) if e["response"].startswith("{") else {}
        sign_no = ((recorded.get("output") or {}).get("signinoutb") or {}).get("sign_no") if e["infno"] == "9001" \
            else None
        body = json.dumps(e["request"], ensure_ascii=False).encode("utf-8")
        prepared.append((target, body, recorded.get("infcode"), sign_no.encode() if sign_no else None))
    swaps: dict[bytes, bytes] = {}
    same = 0
    t0 = time.perf_counter()
    for target, body, infcode, recorded_sign_no in prepared:
        for old, new in swaps.items():
            if old in body:
                body = body.replace(old, new)
        response = session.post(target, data=body, headers=headers, timeout=30)
        answer = response.json()
        same += answer.get("infcode") == infcode
        if recorded_sign_no:
            new_sign_no = ((answer.get("output") or {}).get("signinoutb") or {}).get("sign_no", "")
            swaps[recorded_sign_no] = new_sign_no.encode()
    return time.perf_counter() - t0, same


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", action="append", default=[])
    parser.add_argument("-k", dest="keyword")
    parser.add_argument("--repeat", type=int, default=3, help="best of N for both loops (default 3)")
    parser.add_argument("--skip-wall", action="store_true", help="skip timing the full default suite")
    options = parser.parse_args()
    print(f"hsa-cert bench on {os.cpu_count()} CPU(s), Python {sys.version.split()[0]}, best of {options.repeat}")
    with tempfile.TemporaryDirectory(prefix="hsa-bench-") as tmp:
        work = Path(tmp)
        harness_best = bare_best = float("inf")
        exchanges: list[dict] = []
        same = 0
        each: list[str] = []
        for n in range(options.repeat):
            first, url = start_platform(work, f"a{n}")
            try:
                exchanges = harness_run(site_file(work, url), work / f"run{n}", options.suite, options.keyword)
            finally:
                first.terminate()
                first.wait(10)
            harness_best = min(harness_best, span_s(exchanges))
            second, url2 = start_platform(work, f"b{n}")
            try:
                bare_s, same = bare_replay(exchanges, url2)
            finally:
                second.terminate()
                second.wait(10)
            bare_best = min(bare_best, bare_s)
            each.append(f"{span_s(exchanges):.2f}/{bare_s:.2f}")
        count = len(exchanges)
        harness_tps, bare_tps = count / harness_best, count / bare_best
        print(f"harness end to end : {count} exchanges in {harness_best:.2f} s = {harness_tps:.0f} tx/s")
        print(f"bare requests loop : {count} exchanges in {bare_best:.2f} s = {bare_tps:.0f} tx/s "
              f"({same}/{count} answers with the recorded infcode)")
        print(f"ratio              : {harness_tps / bare_tps:.2f} (target >= 0.8); each repeat, harness/bare s: "
              f"{', '.join(each)}")
        if not options.skip_wall:
            t0 = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", "harness", "run", "--out", str(work / "wall"), "--seed", "1"],
                                  cwd=ROOT, capture_output=True, text=True, encoding="utf-8")
            wall = time.perf_counter() - t0
            results = json.loads((work / "wall" / "results.json").read_text(encoding="utf-8"))
            summary = results["summary"]
            print(f"full default suite : {summary['total']} scenarios, {summary['passed']} passed, "
                  f"exit {done.returncode}, wall {wall:.1f} s (target <= 30 s on 2 cores)")


if __name__ == "__main__":
    main()
