"""Benchmark: what a call of the outpatient flow costs the reference platform, next to an echo on the same stack.

    python bench/platform_cost.py [--visits N] [--rounds R] [--clients C] [--profile FILE]

The platform runs as its own process (`python -m harness platform serve`, a SQLite file in WAL mode,
sign-in required). Per round, N outpatient visits go through the flow one phase at a time (1101 for N
persons, then 2201 for N visits, 2203, 2204, 2206, 2207), each phase's N requests sent by C concurrent
clients (threads, each over its own keep-alive connection). Right before or after each phase (the order
alternates between rounds, so that other load on the machine hits both alike) the same N request bodies
are sent to `POST /__admin/echo`: the same HTTP stack and the same envelope parsing (the body decoded
and parsed as an envelope, an answer envelope encoded), no validation, no state, no business logic. (Calls
that arrive together share one database commit, app.py's group commit: with C clients, up to C per commit.)

Measured per phase: the platform process's CPU time per request (on Linux the scheduler's run time of
each of its threads, /proc/<pid>/task/*/schedstat, in nanoseconds; elsewhere user + system from psutil,
in clock ticks of 10 ms, which at 300 requests is 33 us per request: too coarse for an echo of ~130 us)
— what the platform itself spent, whoever else loads the machine — and the wall time per request.
Bodies are serialised before the clock starts. The headline is the median round's ratio of CPU per
request, call ÷ echo (target for 2207: at most 2); every round's figures follow.

Nothing a call costs is deferred out of its phase: every change is written to SQLite in the call's
transaction and committed before its answer is sent; the platform's working set (rows calls read, kept in
memory once read: harness/platform/workingset.py) is filled by the calls of the measured phases themselves,
from the file; the pool's annual totals (an in-memory TEMP table, schema.py) are kept by triggers in the
same transaction, and rebuilt only when the platform starts (before the first phase, from an empty file).
Each call phase ends with `POST /__admin/checkpoint`, timed and counted with it: the copy of the phase's
pages from the WAL into the file is the phase's cost, not left to the checkpoint thread (once a second) to
run in the next phase, perhaps an echo's, which would make the echo look dearer and the ratio better (the
echo side sends none: it writes nothing). The checkpoint thread still runs inside the phases and is counted
with every other thread of the process.

`--count` runs the same flow in this process instead (no HTTP, a file database, checkpoints held back)
and prints, per transaction, the SQL statements a call runs (sqlite3's trace callback: a trigger's
statements count as part of the statement that fired it) and the WAL pages its commit writes, by b-tree.

`--profile FILE` runs the platform under cProfile (stdlib) and writes its statistics to FILE when the
platform stops (`python -m pstats FILE`): the profile covers the whole run, echo included.

Loopback only; every loop is bounded; the platform process is stopped at the end.
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/ holds platform.py: drop the folder from the import path so the standard library's `platform` wins.
HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(ROOT))

import argparse  # noqa: E402
import http.client  # noqa: E402
import json  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

import psutil  # noqa: E402

from harness.load.embedded import free_port  # noqa: E402
from harness.load.flows import POOL_ARCHETYPES  # noqa: E402
from harness.personas import load_catalogue  # noqa: E402
from harness.platform.samples import (  # noqa: E402
    SampleHis,
    fee_lines,
    person_input,
    register_input,
    settle_input,
    sign_in_input,
    total,
    visit_input,
)

ENDPOINT = "/fsi/api/rsfComIfsService/callService"
ECHO = "/__admin/echo"
CHECKPOINT = "/__admin/checkpoint"
HEADERS = {"Content-Type": "application/json;charset=utf-8"}
PHASES = ("1101", "2201", "2203", "2204", "2206", "2207")



def start(db: Path, profile: str | None) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    runner = [sys.executable, "-m", "cProfile", "-o", profile] if profile else [sys.executable]
    proc = subprocess.Popen([*runner, "-m", "harness", "platform", "serve", "--db", str(db), "--port", str(port)],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(300):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc, port
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("the platform did not start")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGINT)  # uvicorn stops cleanly on SIGINT (and cProfile then writes its file)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def send_phase(port: int, path: str, bodies: list[bytes], clients: int) -> list[bytes]:
    """A phase's requests, then (for calls, which write) the checkpoint that copies their pages into the file."""
    answers = send_all(port, path, bodies, clients)
    if path != ECHO:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            conn.request("POST", CHECKPOINT, body=b"", headers=HEADERS)
            if "copied" not in json.loads(conn.getresponse().read()):
                raise SystemExit("the platform did not checkpoint its WAL")
        finally:
            conn.close()
    return answers


def send_all(port: int, path: str, bodies: list[bytes], clients: int) -> list[bytes]:
    """Send `bodies` over `clients` concurrent keep-alive connections; the answers in the bodies' order."""
    answers: list[bytes] = [b""] * len(bodies)

    def worker(start: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            for i in range(start, len(bodies), clients):
                conn.request("POST", path, body=bodies[i], headers=HEADERS)
                answers[i] = conn.getresponse().read()
        finally:
            conn.close()

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(min(clients, len(bodies)))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def outputs(answers: list[bytes], infno: str) -> list[dict[str, Any]]:
    found = []
    for raw in answers:
        answer = json.loads(raw)
        if answer.get("infcode") != 0:
            raise SystemExit(f"{infno} refused: {str(answer.get('err_msg'))[:200]}")
        found.append(answer.get("output") or {})
    return found


class Flow:
    """N visits of the outpatient flow, one phase at a time: the bodies of the next phase from the last answers."""

    def __init__(self, his: SampleHis, persons: list[Any], items: dict[str, Any], count: int, tag: str) -> None:
        self.his, self.items = his, items
        self.who = [persons[n % len(persons)] for n in range(count)]
        self.tag = tag
        self.mdtrt: list[str] = []
        self.rows: list[list[dict[str, Any]]] = []

    def bodies(self, infno: str) -> list[bytes]:
        his, items = self.his, self.items
        if infno == "1101":
            envs = [his.envelope("1101", person_input(w), w) for w in self.who]
        elif infno == "2201":
            envs = [his.envelope("2201", register_input(w, f"{self.tag}{n:06d}"), w) for n, w in enumerate(self.who)]
        elif infno == "2203":
            envs = [his.envelope("2203", visit_input(w, m), w) for w, m in zip(self.who, self.mdtrt, strict=True)]
        elif infno == "2204":
            self.rows = [fee_lines(w, m, [(items["consult"], 1), (items["cefaclor"], 1)], chrg_bchno="B1")
                         for w, m in zip(self.who, self.mdtrt, strict=True)]
            envs = [his.envelope("2204", {"feedetail": r}, w) for w, r in zip(self.who, self.rows, strict=True)]
        else:
            presettle = infno == "2206"
            envs = [his.envelope(infno, settle_input(w, m, "B1", total(r), acct_used_flag="0", presettle=presettle), w)
                    for w, m, r in zip(self.who, self.mdtrt, self.rows, strict=True)]
        return [json.dumps(e, ensure_ascii=False, separators=(",", ":")).encode() for e in envs]

    def took(self, infno: str, outs: list[dict[str, Any]]) -> None:
        if infno == "2201":
            self.mdtrt = [str(o["data"]["mdtrt_id"]) for o in outs]


def cpu_seconds(proc: psutil.Process) -> float:
    """The process's CPU time so far: the sum of its threads' run times in ns where Linux reports them."""
    tasks = Path(f"/proc/{proc.pid}/task")
    try:
        return sum(int((t / "schedstat").read_text().split()[0]) for t in tasks.iterdir()) / 1e9
    except (OSError, ValueError, IndexError):  # not Linux, or no schedstat: clock ticks
        times = proc.cpu_times()
        return float(times.user + times.system)


def measure(proc: psutil.Process, send: Callable[[], list[bytes]]) -> tuple[float, float, list[bytes]]:
    """(platform CPU seconds, wall seconds, answers) of one batch."""
    cpu = cpu_seconds(proc)
    started = time.perf_counter()
    answers = send()
    wall = time.perf_counter() - started
    return cpu_seconds(proc) - cpu, wall, answers


def count(his: SampleHis, flow: Flow, catalogue: Any) -> None:
    """Statements and WAL pages per call, in process (see the module's docstring)."""
    from harness.platform.config import PlatformConfig
    from harness.platform.core import Platform
    from harness.platform.wire import HttpRequest

    with tempfile.TemporaryDirectory(prefix="hsa-bench-") as tmp:
        path = Path(tmp) / "platform.sqlite"
        platform = Platform(PlatformConfig(db_path=str(path), seed=catalogue.seed))
        db = platform.db
        if db._checkpointer is not None:  # hold checkpoints back: the WAL then only grows, frame by frame
            db._checkpointer.stop()
            db._checkpointer = None
        db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.conn.execute("PRAGMA wal_autocheckpoint=0")
        page = int(db.conn.execute("PRAGMA page_size").fetchone()[0])
        wal = Path(f"{path}-wal")
        statements: list[str] = []
        db.conn.set_trace_callback(statements.append)

        def send(bodies: list[bytes]) -> tuple[list[bytes], int, list[int]]:
            answers, frames = [], []
            del statements[:]
            for body in bodies:
                before = wal.stat().st_size if wal.exists() else 0
                answers.append(platform.handle(HttpRequest("POST", ENDPOINT, dict(HEADERS), body)).body)
                with wal.open("rb") as log:
                    log.seek(before)
                    written = log.read()
                frames += [int.from_bytes(written[at:at + 4], "big") for at in range(0, len(written), page + 24)]
            return answers, len(statements), frames

        his.sign_no = outputs(send([json.dumps(his.envelope("9001", sign_in_input())).encode()])[0], "9001")[0][
            "signinoutb"]["sign_no"]
        found = {}
        for infno in PHASES:
            answers, n_statements, frames = send(flow.bodies(infno))
            flow.took(infno, outputs(answers, infno))
            found[infno] = (n_statements, frames, len(answers))
        trees = {int(r[1]): str(r[0]) for r in db.conn.execute("SELECT name, pageno FROM dbstat")}
        platform.close()
    print(f"{'infno':<6} {'statements':>10} {'WAL pages':>9}   WAL pages by b-tree (per call)")
    for infno, (n_statements, frames, calls) in found.items():
        trees_hit: dict[str, int] = {}
        for number in frames:
            name = "header (page 1)" if number == 1 else trees.get(number, "?")
            trees_hit[name] = trees_hit.get(name, 0) + 1
        split = ", ".join(f"{name} {n / calls:.2f}" for name, n in sorted(trees_hit.items(), key=lambda kv: -kv[1]))
        print(f"{infno:<6} {n_statements / calls:>10.1f} {len(frames) / calls:>9.1f}   {split}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visits", type=int, default=300, help="visits per round (default 300)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds; the median is the headline (default 5)")
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients (default 4)")
    parser.add_argument("--profile", help="run the platform under cProfile and write its statistics here")
    parser.add_argument("--count", action="store_true",
                        help="in this process: SQL statements and WAL pages per call of each transaction")
    args = parser.parse_args()
    catalogue = load_catalogue()
    persons = [catalogue.persona(a) for a in POOL_ARCHETYPES]
    items = {i.alias: i for i in catalogue.items}
    his = SampleHis.for_institution(catalogue.default_institution())
    if args.count:
        count(his, Flow(his, persons, items, args.visits, "C"), catalogue)
        return
    # cpu[infno] / cpu_echo[infno] / wall... : one value per round (seconds per request)
    figures: dict[str, dict[str, list[float]]] = {i: {"cpu": [], "echo_cpu": [], "wall": [], "echo_wall": []}
                                                  for i in PHASES}
    with tempfile.TemporaryDirectory(prefix="hsa-bench-") as tmp:
        server, port = start(Path(tmp) / "platform.sqlite", args.profile)
        try:
            platform = psutil.Process(server.pid)
            sign_in = send_all(port, ENDPOINT, [json.dumps(his.envelope("9001", sign_in_input())).encode()], 1)
            his.sign_no = outputs(sign_in, "9001")[0]["signinoutb"]["sign_no"]
            for n in range(max(1, args.rounds)):
                flow = Flow(his, persons, items, args.visits, f"R{n}")
                for infno in PHASES:
                    bodies = flow.bodies(infno)
                    sides = {}
                    for side in (("echo", "call") if n % 2 == 0 else ("call", "echo")):
                        path = ECHO if side == "echo" else ENDPOINT
                        sides[side] = measure(platform, lambda p=path, b=bodies: send_phase(port, p, b, args.clients))
                    cpu, wall, answers = sides["call"]
                    echo_cpu, echo_wall, echoes = sides["echo"]
                    outputs(echoes, f"echo of {infno}")
                    flow.took(infno, outputs(answers, infno))
                    row = figures[infno]
                    for key, value in (("cpu", cpu), ("echo_cpu", echo_cpu), ("wall", wall), ("echo_wall", echo_wall)):
                        row[key].append(value / len(bodies))
                print(f"round {n + 1}: " + ", ".join(
                    f"{i} {figures[i]['cpu'][-1] * 1e6:.0f}/{figures[i]['echo_cpu'][-1] * 1e6:.0f} us" for i in PHASES)
                    + "  (platform CPU per request, call/echo)", flush=True)
        finally:
            stop(server)
    print()
    print(f"{'infno':<6} {'CPU/request':>12} {'echo CPU':>9} {'ratio':>6}   {'wall/request':>12} {'echo wall':>9}"
          f" {'ratio':>6}   (medians over {len(figures['2207']['cpu'])} rounds, us)")
    for infno in PHASES:
        row = figures[infno]
        cpu_ratios = [c / e for c, e in zip(row["cpu"], row["echo_cpu"], strict=True) if e]
        wall_ratios = [c / e for c, e in zip(row["wall"], row["echo_wall"], strict=True) if e]
        cpu, echo_cpu = statistics.median(row["cpu"]) * 1e6, statistics.median(row["echo_cpu"]) * 1e6
        print(f"{infno:<6} {cpu:>12.0f} {echo_cpu:>9.0f}"
              f" {statistics.median(cpu_ratios):>6.2f}   {statistics.median(row['wall']) * 1e6:>12.0f}"
              f" {statistics.median(row['echo_wall']) * 1e6:>9.0f} {statistics.median(wall_ratios):>6.2f}")
    settle = figures["2207"]
    ratio = statistics.median(c / e for c, e in zip(settle["cpu"], settle["echo_cpu"], strict=True) if e)
    print(f"\n2207 settlement / echo, platform CPU per request: median {ratio:.2f} (target <= 2); "
          f"{args.visits} visits per round, {args.clients} concurrent clients, {args.rounds} rounds")


if __name__ == "__main__":
    main()
