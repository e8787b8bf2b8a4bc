"""`hsa-cert matrix`: many sites certified at once, each with its own evidence; one exit code for all."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from harness.cli import app
from harness.errors import UsageError
from harness.matrix import (
    SiteJob,
    certify_site,
    collect_site_files,
    in_shard,
    matrix_exit_code,
    parse_shard,
    plan_jobs,
)
from harness.reporting.evidence import verify
from harness.reporting.ledger import load_runs

SUBSET = "outpatient.settle.resident-cash or outpatient.settle.without-account"


def site_toml(site_id: str, port: int, profile: str = "baseline", **extra: str) -> str:
    lines = [f'{key} = "{value}"' for key, value in extra.items()]
    return f'''[site]
id = "{site_id}"
name = "site {site_id}"
base_url = "http://127.0.0.1:{port}"
profile = "{profile}"
fixmedins_code = "H52010200001"
fixmedins_name = "贵阳市南明区第一人民医院（测试）"
mdtrtarea_admvs = "520102"
capabilities = ["outpatient", "inpatient", "chronic", "pharmacy", "filing", "reconciliation"]
reference = true
catalogue_seed = 20240101
recon_scope = "run"
{chr(10).join(lines)}

[gateway]
family = "none"
'''


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def serve(tmp_path: Path) -> Iterator:
    """Start `hsa-cert platform serve` subprocesses on free ports; all stopped at the end."""
    started: list[subprocess.Popen] = []

    def start(*args: str) -> int:
        port = free_port()
        log = (tmp_path / f"platform-{port}.log").open("w")
        started.append(subprocess.Popen([sys.executable, "-m", "harness", "platform", "serve", "--port", str(port),
                                         "--db", ":memory:", *args], stdout=log, stderr=subprocess.STDOUT))
        deadline = time.monotonic() + 60  # setup only: the platform starts under a loaded machine
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/__admin/health", timeout=2):
                    return port
            except OSError:
                if started[-1].poll() is not None or time.monotonic() > deadline:
                    text = (tmp_path / f"platform-{port}.log").read_text()
                    raise RuntimeError(f"the platform did not start: {text}") from None
                time.sleep(0.2)

    yield start
    for process in started:
        process.terminate()
    for process in started:
        process.wait(timeout=20)


def test_shards_split_the_sites_stably_and_completely() -> None:
    ids = [f"site-{n:03d}" for n in range(60)]
    parts = [[i for i in ids if in_shard(i, (k, 3))] for k in (1, 2, 3)]
    assert sorted(i for part in parts for i in part) == ids and all(parts)
    assert [i for i in ids[:30] if in_shard(i, (2, 3))] == [i for i in parts[1] if i in ids[:30]]
    assert parse_shard("2/3") == (2, 3)
    for bad in ("0/3", "4/3", "x", "1/0"):
        with pytest.raises(UsageError):
            parse_shard(bad)


def test_the_most_serious_site_decides_the_exit_code() -> None:
    assert matrix_exit_code([]) == 0
    assert matrix_exit_code([0, 0]) == 0
    assert matrix_exit_code([0, 1, 0]) == 1
    assert matrix_exit_code([1, 2]) == 2
    assert matrix_exit_code([2, 3, 1]) == 3


def test_sites_come_from_files_and_directories_and_evidence_is_never_overwritten(tmp_path: Path) -> None:
    folder = tmp_path / "sites"
    folder.mkdir()
    for name, port in (("a", 1), ("b", 2)):
        (folder / f"{name}.toml").write_text(site_toml(name, port), encoding="utf-8")
    (folder / "notes.txt").write_text("not a site", encoding="utf-8")
    single = tmp_path / "c.toml"
    single.write_text(site_toml("c", 3), encoding="utf-8")
    files = collect_site_files([str(folder), str(single), str(folder / "a.toml")])
    assert [f.name for f in files] == ["a.toml", "b.toml", "c.toml"]
    jobs = plan_jobs(files, out=tmp_path / "m", shard=None, ledger=tmp_path / "l.sqlite", reports_dir=tmp_path)
    assert [j.site_id for j in jobs] == ["a", "b", "c"]
    (tmp_path / "m" / "b").mkdir(parents=True)
    (tmp_path / "m" / "b" / "results.json").write_text("{}", encoding="utf-8")
    with pytest.raises(UsageError, match="already there"):
        plan_jobs(files, out=tmp_path / "m", shard=None, ledger=tmp_path / "l.sqlite", reports_dir=tmp_path)
    twin = tmp_path / "twin.toml"
    twin.write_text(site_toml("a", 4), encoding="utf-8")
    with pytest.raises(UsageError, match="two site configs"):
        plan_jobs([*files, twin], out=tmp_path / "n", shard=None, ledger=tmp_path / "l.sqlite", reports_dir=tmp_path)
    with pytest.raises(UsageError):
        collect_site_files([str(tmp_path / "missing")])


def test_a_broken_site_config_is_its_own_row(tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text("[site]\nid = 'broken'\n", encoding="utf-8")
    (job,) = plan_jobs([broken], out=tmp_path / "m", shard=None, ledger=tmp_path / "l.sqlite", reports_dir=tmp_path)
    assert job.problem
    result = certify_site(job)
    assert (result.verdict, result.exit_code) == ("config error", 2)
    assert (tmp_path / "m" / "broken" / "matrix.log").read_text(encoding="utf-8").strip()


def test_an_unreachable_site_is_an_infrastructure_row_not_a_crash(tmp_path: Path) -> None:
    site = tmp_path / "down.toml"
    site.write_text(site_toml("down", free_port()), encoding="utf-8")
    job = SiteJob("down", str(site), str(tmp_path / "m" / "down"), str(tmp_path / "l.sqlite"), str(tmp_path),
                  keyword=SUBSET)
    result = certify_site(job)
    assert (result.verdict, result.exit_code, result.pass_rate) == ("error", 3, None)
    assert "not reachable" in result.message


@pytest.mark.slow
def test_a_matrix_of_served_platforms_certifies_each_site_on_its_own(tmp_path: Path, serve, monkeypatch) -> None:
    """Sites under different profiles, one with a planted bug (a mutant), one unreachable: every site gets its
    verdict, its own verifiable evidence and its ledger rows; the matrix's exit code is the most serious."""
    monkeypatch.chdir(tmp_path)
    sites = tmp_path / "sites"
    sites.mkdir()
    hunan = serve("--profile", "hunan", "--no-verify")  # the site config signs nothing: the platform verifies nothing
    (sites / "hn-good.toml").write_text(site_toml("hn-good", hunan, "hunan"), encoding="utf-8")
    (sites / "base-good.toml").write_text(site_toml("base-good", serve()), encoding="utf-8")
    mutant = serve("--fault", "2207:mutant=infcode-as-string")
    (tmp_path / "base-bug.toml").write_text(site_toml("base-bug", mutant), encoding="utf-8")
    (sites / "down.toml").write_text(site_toml("down", free_port()), encoding="utf-8")
    ledger = tmp_path / "ledger.sqlite"
    result = CliRunner().invoke(app, ["matrix", str(sites), str(tmp_path / "base-bug.toml"), "--out", "m1",
                                      "--jobs", "3", "-k", SUBSET, "--ledger", str(ledger)])
    assert result.exit_code == 3, result.output
    matrix = json.loads((tmp_path / "m1" / "matrix.json").read_text(encoding="utf-8"))
    rows = {s["id"]: s for s in matrix["sites"]}
    assert {k: (v["verdict"], v["exit_code"]) for k, v in rows.items()} == {
        "hn-good": ("certified", 0), "base-good": ("certified", 0), "base-bug": ("not certified", 1),
        "down": ("error", 3)}
    assert rows["hn-good"]["pass_rate"] == 1.0 and rows["base-bug"]["pass_rate"] < 1.0
    assert matrix["exit_code"] == 3
    for site_id in ("hn-good", "base-good", "base-bug"):
        assert verify(tmp_path / "m1" / site_id).intact
        assert (tmp_path / "m1" / site_id / "certificate.html").is_file()
    assert result.output.count("] ") >= 4 and "base-bug" in result.output  # a progress line per site
    assert sorted(r.site_id for r in load_runs(ledger)) == ["base-bug", "base-good", "hn-good"]

    # A CI runner takes its shard only; the evidence of a first matrix is never overwritten.
    again = CliRunner().invoke(app, ["matrix", str(sites), "--out", "m1", "-k", SUBSET, "--ledger", str(ledger)])
    assert again.exit_code == 2 and "already there" in again.output


def _probe() -> tuple[list[str], int]:
    """In a worker: the profiles whose scenario suites are already loaded, and the next msgid serial."""
    from harness.runner.msgid import next_serial
    from harness.scenarios import catalogue

    return sorted({key[1] for key in catalogue._CACHE}), next_serial()


def test_workers_start_with_every_site_profile_loaded_and_their_own_msgid_counter(tmp_path: Path) -> None:
    """Loading a profile's suites is the costly part of a site; the matrix does it once per profile before
    forking its workers (else --jobs N paid it N times over). A forked worker must not inherit the msgid
    counter: two workers would then send the same msgids in the same second."""
    import threading
    from concurrent.futures import ProcessPoolExecutor

    from harness.matrix.pool import _worker_context
    from harness.runner.msgid import next_serial

    if threading.active_count() > 1:  # a platform thread of an earlier test: the matrix would spawn, not fork
        assert not os.environ.get("HSA_TEST_ALONE"), "another thread runs even in a process of its own"
        name = test_workers_start_with_every_site_profile_loaded_and_their_own_msgid_counter.__name__
        node = f"{Path(__file__).resolve()}::{name}"
        alone = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", node],
                               capture_output=True, text=True, timeout=600, cwd=tmp_path,
                               env={**os.environ, "HSA_TEST_ALONE": "1"})
        assert alone.returncode == 0, alone.stdout[-3000:] + alone.stderr[-2000:]  # run alone, in a fresh process
        return
    for name, profile in (("a", "baseline"), ("b", "hunan")):
        (tmp_path / f"{name}.toml").write_text(site_toml(name, 1, profile), encoding="utf-8")
    jobs = plan_jobs(collect_site_files([str(tmp_path)]), out=tmp_path / "m", shard=None,
                     ledger=tmp_path / "l.sqlite", reports_dir=tmp_path)
    context = _worker_context(jobs)
    assert context.get_start_method() == "fork"
    pairs = []
    for _ in range(2):  # two workers forked from this process: (the worker's next serial, this process's)
        with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
            loaded, serial = pool.submit(_probe).result(timeout=120)
        assert {"baseline", "hunan"} <= set(loaded)
        pairs.append((serial, next_serial()))
    assert any(worker != here for worker, here in pairs)  # an inherited counter gives this process's serial
