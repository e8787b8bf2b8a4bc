"""One load run end to end: the target (a site, or the embedded platform in its own process), the
plan, Locust (imported here, late), the SLO verdict and the evidence. Returns the exit code:
0 every SLO holds, 1 one fails, 3 no answer at all reached us (the target could not be reached: the
run is incomplete, as a conformance run whose site is down); a worker returns 0 when the master ends the run.

The certificate page and the ledger entry are written by the command line from results.json, after
this process has ended (harness/reporting/load_evidence.py: reporting is a layer above this one)."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from collections.abc import Callable
from contextlib import nullcontext
from datetime import datetime
from pathlib import Path
from typing import Any

from harness.errors import UsageError
from harness.load.embedded import EmbeddedPlatform
from harness.load.plan import LoadPlan, make_plan
from harness.load.report import load_document, render_table, write_evidence
from harness.load.shapes import load_shape
from harness.load.slo import judge, load_objectives, parse_objective
from harness.personas import load_catalogue
from harness.siteconfig import embedded_site, load_site
from harness.specs import load_registry

__all__ = ["ROLES", "check_options", "default_out_dir", "new_run_id", "run_in_own_process", "run_load"]

ROLES = ("local", "master", "worker")


def check_options(*, site_file: str | None, shape_name: str | None, duration_s: float, role: str,
                  faults: list[str], cert_profile: str, slo_overrides: list[str], **_: Any) -> None:
    """Raise the usage and configuration errors a run would meet, without running it."""
    if role not in ROLES:
        raise UsageError(f"unknown role {role!r}")
    if duration_s <= 0 and role != "worker":
        raise UsageError("--duration must be more than 0 seconds")
    if faults and site_file:
        raise UsageError("--fault applies only to the embedded reference platform", hint="drop --site")
    if role == "worker" and faults:
        raise UsageError("--fault belongs to the master (it starts the embedded platform)")
    load_shape(shape_name)
    load_objectives(cert_profile)
    for text in slo_overrides:
        parse_objective(text)
    if site_file is not None:
        registry, catalogue = load_registry(), load_catalogue()
        load_site(Path(site_file), profiles=registry.profiles(), archetypes=catalogue.archetypes,
                  item_aliases=[i.alias for i in catalogue.items])


def new_run_id() -> str:
    return f"{datetime.now().astimezone():%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"


def default_out_dir(site_file: str | None, run_id: str) -> Path:
    """reports/<site id>/load-<run id>/ (the site id from the site config; "embedded" without one)."""
    site_id = "embedded"
    if site_file is not None:
        registry, catalogue = load_registry(), load_catalogue()
        site_id = load_site(Path(site_file), profiles=registry.profiles(), archetypes=catalogue.archetypes,
                            item_aliases=[i.alias for i in catalogue.items]).id
    return Path("reports") / site_id / f"load-{run_id}"


def run_in_own_process(options: dict[str, Any]) -> int:
    """Run `run_load(**options)` in a fresh `python -m harness.load` process (Locust must be imported
    before ssl, see harness/load/__main__.py); its output passes through; its exit code is returned."""
    try:
        return subprocess.call([sys.executable, "-m", "harness.load", json.dumps(options)])
    except KeyboardInterrupt:
        return 3


def run_load(*, site_file: str | None, shape_name: str | None, duration_s: float, out: Path | None,
             cert_profile: str = "hospital-full", slo_overrides: list[str] | None = None,
             faults: list[str] | None = None, rate: float | None = None, role: str = "local",
             master_host: str = "127.0.0.1", master_port: int = 5557, expect_workers: int = 2,
             run_id: str | None = None, say: Callable[[str], None] = print) -> int:
    check_options(site_file=site_file, shape_name=shape_name, duration_s=duration_s, role=role,
                  faults=faults or [], cert_profile=cert_profile, slo_overrides=slo_overrides or [])
    registry = load_registry()
    catalogue = load_catalogue()
    shape = load_shape(shape_name).with_rate_limit(rate)
    objectives = load_objectives(cert_profile) + [parse_objective(s) for s in slo_overrides or []]
    site = None
    if site_file is not None:
        site = load_site(Path(site_file), profiles=registry.profiles(), archetypes=catalogue.archetypes,
                         item_aliases=[i.alias for i in catalogue.items])

    def factory(host: str) -> LoadPlan:
        chosen = site if site is not None else embedded_site(host, catalogue=catalogue)
        return make_plan(chosen, registry, shape)

    # Locust patches the process for gevent when imported: only now, and only in this command.
    from harness.load.locust_run import run_locust

    if role == "worker":
        run_locust(factory, site.base_url if site else "", shape, duration_s, role="worker",
                   master_host=master_host, master_port=master_port, say=say)
        return 0
    started = datetime.now().astimezone()
    context = EmbeddedPlatform(faults) if site is None else nullcontext(site.base_url)
    with context as url:
        plan = factory(url)
        if site is None:
            say(f"hsa-cert load: embedded reference platform at {url}"
                + (f" with faults {', '.join(faults or [])}" if faults else ""))
        say(f"hsa-cert load: shape {shape.name} (peak {shape.peak_users} users) for {duration_s:g} s against "
            f"{plan.site.id} ({url}), {len(plan.pool.persons)} test persons, profile {plan.site.profile}"
            + (f", {expect_workers} workers" if role == "master" else ""))
        figures = run_locust(factory, url, shape, duration_s, role=role, master_port=master_port,
                             expect_workers=expect_workers, say=say)
    assert figures is not None
    verdicts = judge(objectives, figures.interfaces)
    run: dict[str, Any] = {
        "site": plan.site.describe(), "shape": shape.to_json(), "cert_profile": cert_profile,
        "duration_s": duration_s, "elapsed_s": round(figures.elapsed_s, 1), "peak_users": figures.peak_users,
        "role": role, "workers": figures.workers, "faults": faults or [],
        "rate_per_s": round(figures.total.count / figures.elapsed_s, 1) if figures.elapsed_s else 0.0,
    }
    load = load_document(figures.interfaces, figures.total, verdicts, run=run, timeline=figures.timeline,
                         errors=figures.errors)
    # Not one answer came back (every request failed to connect or timed out): the target was not reached.
    unreached = sum(n for what, n in figures.errors.items() if "no answer" in what)
    load["incomplete"] = figures.total.count == 0 or unreached >= figures.total.count
    code = 3 if load["incomplete"] else 0 if load["passed"] else 1
    finished = datetime.now().astimezone()
    run_id = run_id or f"{started:%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"
    document = {"run": {"run_id": run_id, "kind": "load", "started_at": started.isoformat(timespec="seconds"),
                        "finished_at": finished.isoformat(timespec="seconds"), "exit_code": code},
                "load": load}
    out_dir = out if out is not None else Path("reports") / plan.site.id / f"load-{run_id}"
    names = {spec.infno: spec.title_zh for spec in registry.interfaces()}
    write_evidence(out_dir, document, names, start_ms=int(started.timestamp() * 1000),
                   stop_ms=int(finished.timestamp() * 1000))
    say("")
    say(render_table(load, names))
    say("")
    verdict = {0: "every SLO holds", 1: "an SLO fails", 3: "incomplete: no answer reached us (is the site up?)"}[code]
    say(f"hsa-cert load: {verdict}; "
        f"{load['total']['count']} answers at {run['rate_per_s']}/s; results: {out_dir / 'results.json'}, "
        f"{out_dir / 'load.html'}")
    return code
