"""Locust in library mode (the only module that imports locust and gevent): the HIS user, the shape
as data, and one run as a local, master or worker process.

Importing Locust monkey-patches the process for gevent, so the command line imports this module
only inside `hsa-cert load`, after the embedded platform (a separate process) is up; nothing else in
the harness imports it.

Each request is recorded by Locust under its infno (`name`), so Locust's own statistics, merged by
the master in distributed mode, give the per-interface counts, errors and percentiles. A sampler on
the master (or the local process) snapshots the cumulative figures every second for the
latency-over-time chart.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

warnings.filterwarnings("ignore", message="Monkey-patching ssl after ssl has already been imported")

import gevent  # noqa: E402 - after the warning filter: locust's import patches the process
from locust import FastHttpUser, LoadTestShape, task  # noqa: E402
from locust.env import Environment  # noqa: E402
from locust.runners import STATE_STOPPED, MasterRunner  # noqa: E402

from harness.errors import InfrastructureError  # noqa: E402
from harness.load.plan import LoadPlan  # noqa: E402
from harness.load.shapes import LoadShape  # noqa: E402
from harness.load.slo import InterfaceStats  # noqa: E402

__all__ = ["RunFigures", "run_locust"]

PlanFactory = Callable[[str], LoadPlan]  # the target's base URL -> the plan (workers learn it from the master)

_factory: PlanFactory | None = None
_process_index = 0  # a worker's index + 1 (msgid slots and pool offsets); 0 in a local run
_plans: dict[str, LoadPlan] = {}


def _plan_for(host: str) -> LoadPlan:
    plan = _plans.get(host)
    if plan is None:
        assert _factory is not None, "run_locust sets the plan factory first"
        plan = _plans[host] = _factory(host).for_process(_process_index)
    return plan


class HisUser(FastHttpUser):
    """One HIS desk: signs in once (9001), then performs visits with think time between them."""

    host = "http://127.0.0.1"  # replaced by the environment's host
    network_timeout = 10.0
    connection_timeout = 10.0

    def wait_time(self) -> float:
        plan = _plan_for(self.environment.host or self.host)
        pace = plan.min_visit_interval_s() - (time.monotonic() - getattr(self, "_visit_started", 0.0))
        return max(plan.think_s(), pace)

    def on_start(self) -> None:
        self.plan = _plan_for(self.environment.host or self.host)
        self.flow = self.plan.new_flow()
        self.flow.sign_in(self._call)

    @task
    def visit(self) -> None:
        self._visit_started = time.monotonic()
        if not self.flow.his.sign_no and not self.flow.sign_in(self._call):
            return
        self.flow.visit(self._call)

    def _call(self, infno: str, envelope: dict[str, Any]) -> dict[str, Any] | None:
        path, headers, body = self.plan.request(infno, envelope)
        with self.client.post(path, data=body, headers=headers, name=infno, catch_response=True) as answer:
            output, problem = self.plan.judge(infno, answer.status_code or 0, answer.content)
            if problem is not None:
                answer.failure(problem)
                return None
            answer.success()
            return output


class DataShape(LoadTestShape):
    """The shape from specs/load/shapes.json, stretched over the run's duration."""

    abstract = False

    def __init__(self, shape: LoadShape, duration_s: float) -> None:
        super().__init__()
        self.shape, self.duration_s = shape, duration_s

    def tick(self) -> tuple[int, float] | None:
        return self.shape.users_at(self.get_run_time(), self.duration_s)


@dataclass
class RunFigures:
    """What a run measured (on the local process or the master: merged over the workers)."""

    interfaces: dict[str, InterfaceStats]
    total: InterfaceStats
    timeline: list[dict[str, Any]]  # per second: t, and per infno the window's count, errors, mean_ms
    elapsed_s: float
    peak_users: int
    workers: int = 0
    errors: dict[str, int] = field(default_factory=dict)  # "infno: why" -> occurrences
    cpu_s: float = 0.0  # this process's CPU time over the run (the load generator's own cost; not a worker's)


def _figures(entry: Any) -> InterfaceStats:
    def pct(p: float) -> float:
        return float(entry.get_response_time_percentile(p) or 0) if entry.num_requests else 0.0
    return InterfaceStats(entry.num_requests, entry.num_failures, pct(0.5), pct(0.95), pct(0.99))


def _snapshot(env: Environment) -> dict[str, tuple[int, int, float]]:
    return {name: (e.num_requests, e.num_failures, e.total_response_time)
            for (name, _method), e in env.stats.entries.items()}


def _sampler(env: Environment, started: float, timeline: list[dict[str, Any]], every_s: float) -> None:
    last = _snapshot(env)
    while True:
        gevent.sleep(every_s)
        now = _snapshot(env)
        point: dict[str, Any] = {"t": round(time.monotonic() - started, 1), "users": env.runner.user_count}
        for name, (count, errors, total_ms) in now.items():
            c0, e0, t0 = last.get(name, (0, 0, 0.0))
            if count > c0:
                window = count - c0
                point[name] = {"count": window, "errors": errors - e0, "mean_ms": round((total_ms - t0) / window, 1)}
        timeline.append(point)
        last = now


def run_locust(factory: PlanFactory, host: str, shape: LoadShape, duration_s: float, *, role: str = "local",
               master_host: str = "127.0.0.1", master_port: int = 5557, expect_workers: int = 1,
               worker_wait_s: float = 60.0, say: Callable[[str], None] = print) -> RunFigures | None:
    """Run the load; the local process and the master return the figures, a worker returns None."""
    global _factory, _process_index
    _factory = factory
    if host and role != "master":
        HisUser.network_timeout = HisUser.connection_timeout = _plan_for(host).timeout_s
    env = Environment(user_classes=[HisUser], shape_class=DataShape(shape, duration_s), host=host,
                      catch_exceptions=True)
    if role == "worker":
        runner = env.create_worker_runner(master_host, master_port)
        _process_index = runner.worker_index + 1  # the master numbers its workers as they connect
        say(f"hsa-cert load: worker connected to {master_host}:{master_port}")
        runner.greenlet.join()
        return None
    if role == "master":
        runner = env.create_master_runner("*", master_port)
        waited = time.monotonic()
        while len(runner.clients.ready) < expect_workers:
            if time.monotonic() - waited > worker_wait_s:
                runner.quit()
                raise InfrastructureError(f"only {len(runner.clients.ready)} of {expect_workers} workers connected "
                                          f"within {worker_wait_s:.0f} s", location=f"master port {master_port}",
                                          hint="start the workers with `hsa-cert load --worker --master-host HOST`")
            gevent.sleep(0.2)
        say(f"hsa-cert load: {len(runner.clients.ready)} workers connected")
    else:
        runner = env.create_local_runner()
    started, cpu = time.monotonic(), time.process_time()
    timeline: list[dict[str, Any]] = []
    sampler = gevent.spawn(_sampler, env, started, timeline, 1.0)
    peak = 0
    runner.start_shape()
    # The run ends at its duration (not at the shape's next one-second tick): rates divide by the time that ran.
    while (left := duration_s - (time.monotonic() - started)) > 0 and runner.state != STATE_STOPPED:
        gevent.sleep(min(0.1, left))
        peak = max(peak, runner.user_count)
    elapsed = time.monotonic() - started  # before stop(): stopping takes its own time (Locust logs a stack)
    cpu = time.process_time() - cpu
    runner.stop()
    sampler.kill()
    if isinstance(runner, MasterRunner):  # the workers' last reports arrive after they stopped
        deadline = time.monotonic() + 15
        while runner.state != STATE_STOPPED and time.monotonic() < deadline:
            gevent.sleep(0.2)
        gevent.sleep(1.0)
    workers = len(runner.clients) if isinstance(runner, MasterRunner) else 0
    runner.quit()
    errors = {f"{e.name}: {e.error}": e.occurrences for e in env.stats.errors.values()}
    interfaces = {name: _figures(e) for (name, _m), e in sorted(env.stats.entries.items())}
    return RunFigures(interfaces, _figures(env.stats.total), timeline, elapsed, peak, workers, errors, cpu)
