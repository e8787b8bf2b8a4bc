"""Benchmark: `hsa-cert load`'s request rate next to Locust's bare FastHttpUser against the same endpoint.

    python bench/load.py [--users N] [--seconds S] [--rounds R]

One reference platform process (its own core; a fresh database per side and round, so both sides meet
the same state) and, per round, two runs of S seconds with N users and no think time, alternating so
that other load on the machine hits both alike:

- bare: Locust's FastHttpUser performing the same outpatient flow (9001 once; 1101, 2201, 2203, 2204,
  2206, 2207), each envelope a dict dumped with json, success judged by a byte search for
  `"infcode":0`: what a hand-written locustfile does.
- hsa-cert: the `hsa-cert load` user (harness/load/locust_run.py) with the same flow: SampleHis
  envelopes, gateway signing, every answer validated against the schemas, per-interface statistics.

Prints both rates (answers per second) and their ratio per round; the median round's ratio is the
headline (target >= 0.8). The client process's CPU time per answer on each side is printed too: on a
busy machine the rates swing with other load, the CPU per answer much less. Loopback only; every
run is bounded by --seconds.

Where hsa-cert load's extra client work goes (measured in one process, 2207's 1.3 kB answer): building
and signing a request about 6 us; judging an answer about 19 us, of which json.loads 14 us and the
schema validation (the compiled jsonschema_rs validator, every answer) 4 us. Against Locust's own
300 us of client CPU per answer that is under a tenth: validation stays in the user's hot path, as it
is cheap there, and no answer goes unvalidated.
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/ holds platform.py: drop the folder from the import path so the standard library's `platform` wins.
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(HERE.parent))

# Locust patches the process for gevent: it must come before anything imports ssl.
import harness.load.locust_run as locust_run  # noqa: E402, I001

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

from locust import FastHttpUser, task  # noqa: E402
from locust.env import Environment  # noqa: E402

from harness.load.embedded import EmbeddedPlatform  # noqa: E402
from harness.load.plan import make_plan  # noqa: E402
from harness.load.shapes import LoadShape, Stage  # noqa: E402
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
from harness.siteconfig import embedded_site  # noqa: E402
from harness.specs import load_registry  # noqa: E402

ENDPOINT = "/fsi/api/rsfComIfsService/callService"
HEADERS = {"Content-Type": "application/json;charset=utf-8"}
CATALOGUE = load_catalogue()
from harness.load.flows import POOL_ARCHETYPES  # noqa: E402

PERSONS = [CATALOGUE.persona(a) for a in POOL_ARCHETYPES]  # the persons hsa-cert load draws from
ITEMS = {i.alias: i for i in CATALOGUE.items}


class BareUser(FastHttpUser):
    """A hand-written locustfile's user: the same flow, no validation, no signing, no statistics of its own."""

    host = "http://127.0.0.1"
    n = 0

    def on_start(self) -> None:
        BareUser.n += 1
        self.who = PERSONS[BareUser.n % len(PERSONS)]
        self.his = SampleHis.for_institution(CATALOGUE.default_institution())
        self.his.sign_no = self.post("9001", sign_in_input())["signinoutb"]["sign_no"]

    def post(self, infno: str, input: dict, who: object = None) -> dict:
        body = json.dumps(self.his.envelope(infno, input, who), ensure_ascii=False).encode()
        with self.client.post(ENDPOINT, data=body, headers=HEADERS, name=infno, catch_response=True) as answer:
            if b'"infcode":0' not in (answer.content or b""):
                answer.failure("refused")
                raise locust_run.gevent.GreenletExit  # stop this visit; Locust counts the failure
            return json.loads(answer.content)["output"]

    @task
    def visit(self) -> None:
        who = self.who
        self.post("1101", person_input(who), who)
        mdtrt_id = self.post("2201", register_input(who, f"B{time.monotonic_ns() % 10**12}"), who)["data"]["mdtrt_id"]
        self.post("2203", visit_input(who, mdtrt_id), who)
        rows = fee_lines(who, mdtrt_id, [(ITEMS["consult"], 1), (ITEMS["cefaclor"], 1)], chrg_bchno="B1")
        self.post("2204", {"feedetail": rows}, who)
        self.post("2206", settle_input(who, mdtrt_id, "B1", total(rows), acct_used_flag="0", presettle=True), who)
        self.post("2207", settle_input(who, mdtrt_id, "B1", total(rows), acct_used_flag="0"), who)


def bare_rate(url: str, users: int, seconds: float) -> tuple[float, int, float]:
    env = Environment(user_classes=[BareUser], host=url)
    runner = env.create_local_runner()
    started, cpu = time.monotonic(), time.process_time()
    runner.start(users, spawn_rate=users)
    locust_run.gevent.sleep(seconds)
    elapsed, cpu = time.monotonic() - started, time.process_time() - cpu
    runner.stop()
    runner.quit()
    count = env.stats.total.num_requests
    return count / elapsed, env.stats.total.num_failures, cpu / max(count, 1) * 1e6


def harness_rate(url: str, users: int, seconds: float) -> tuple[float, int, float]:
    shape = LoadShape("bench", "bench: no think time", (Stage(1.0, users, users),), (0.0, 0.0),
                      {"outpatient": 1.0}, 0.0, None)
    registry = load_registry()
    figures = locust_run.run_locust(lambda host: make_plan(embedded_site(host, catalogue=CATALOGUE), registry, shape),
                                    url, shape, seconds, say=lambda _line: None)
    assert figures is not None
    # CPU over the run's window only, as on the bare side (not the plan's setup nor Locust's stopping)
    count = max(figures.total.count, 1)
    return figures.total.count / figures.elapsed_s, figures.total.errors, figures.cpu_s / count * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=6, help="concurrent users on each side (default 6)")
    parser.add_argument("--seconds", type=float, default=8.0, help="length of each run (default 8)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds; the median ratio is the headline (default 5)")
    args = parser.parse_args()
    rounds: list[float] = []
    cpu_rounds: list[float] = []
    extra_us: list[float] = []
    for n in range(max(1, args.rounds)):
        sides = {}
        for side in (("bare", "hsa-cert") if n % 2 == 0 else ("hsa-cert", "bare")):
            with EmbeddedPlatform() as url:
                measure = bare_rate if side == "bare" else harness_rate
                sides[side] = measure(url, args.users, args.seconds)
        (bare, bare_err, bare_cpu), (ours, our_err, our_cpu) = sides["bare"], sides["hsa-cert"]
        rounds.append(ours / bare)
        cpu_rounds.append(our_cpu / bare_cpu)
        extra_us.append(our_cpu - bare_cpu)
        print(f"round {n + 1}: bare FastHttpUser {bare:7.1f}/s ({bare_err} errors, {bare_cpu:.0f} us client CPU per "
              f"answer), hsa-cert load {ours:7.1f}/s ({our_err} errors, {our_cpu:.0f} us), ratio {ours / bare:.2f}",
              flush=True)
    print(f"hsa-cert load / bare FastHttpUser: median {statistics.median(rounds):.2f} over {len(rounds)} rounds "
          f"(target >= 0.8); {args.users} users, {args.seconds:g} s per run, no think time")
    print(f"client CPU per answer, hsa-cert / bare: median {statistics.median(cpu_rounds):.2f}, "
          f"+{statistics.median(extra_us):.0f} us (what the harness adds on the client: envelopes, signing, "
          "schema validation of every answer, statistics)")


if __name__ == "__main__":
    main()
