"""Benchmark and end-to-end demonstration of `hsa-cert matrix` and `hsa-cert dashboard` (issue 14's "Done when").

    python bench/matrix.py [--sites 21] [--jobs 1,4,8] [--rounds 1] [-k EXPR] [--work DIR]

1. Starts `--sites - 1` standalone reference platforms (`hsa-cert platform serve` processes, in-memory state)
   under different province profiles, every few sites one with a planted bug switched on (a platform mutant,
   `--fault '*:mutant=NAME'`), plus one site config pointing at a closed port (unreachable). A provincial
   network has latency: every platform delays every answer by a fixed 30-80 ms (its delay fault on every
   interface, `--fault '*:delay=MS'`, awaited so the platform keeps serving), different per site.
2. Runs the matrix over the same sites with each `--jobs` value (`--rounds` times each; the headline is the
   median), a fixed scenario subset (`-k`), and prints the wall times and the speed-ups side by side.
3. After every matrix: each site's evidence verifies (`hsa-cert verify`), the mutant sites are NOT CERTIFIED,
   the clean ones CERTIFIED, the unreachable one an infrastructure row (exit 3) and the others still ran.
4. Switches a mutant on at one previously clean site (a regression, through the platform's admin endpoint),
   runs the matrix a second time into the same ledger as the last timed run, builds `hsa-cert dashboard`,
   takes a headless-Chromium screenshot (when Chromium is installed) and checks that the regressed site,
   the trend (two runs per site) and the unreachable site (in the "无法连接 unreachable" section, from the
   ledger's attempts: it never had a run) are on the page; prints the screenshot path.

Every platform started here is stopped at the end (also on failure or Ctrl-C). Exit 0 when every check held.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

# bench/ holds other scripts (bench/platform.py) that would shadow stdlib modules of the same name.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

from harness.load.embedded import free_port  # noqa: E402

SUBSET = "outpatient.settle.reverse or outpatient.settle.resident-cash or outpatient.settle.without-account"
PROFILES = ("baseline", "hunan", "jiangxi", "chongqing", "guangdong", "liaoning", "national-a")
# Mutants the subset catches (each breaks a MUST of an outpatient settlement).
MUTANTS = ("infcode-as-string", "shares-dont-add-up", "output-field-missing", "medins-setl-id-not-msgid")
REGRESSION = "infcode-as-string"  # switched on at one clean site before the second run
CITIES = ("长沙市", "株洲市", "湘潭市", "衡阳市", "岳阳市")
LEVELS = ("三级", "二级", "一级", "药店")
VENDORS = ("vendor-a", "vendor-b", "vendor-c")


@dataclass
class Site:
    id: str
    profile: str
    port: int
    delay_ms: int
    mutant: str = ""
    process: subprocess.Popen | None = None

    @property
    def reachable(self) -> bool:
        return self.process is not None



def site_toml(site: Site, index: int) -> str:
    return f'''[site]
id = "{site.id}"
name = "site {site.id}"
base_url = "http://127.0.0.1:{site.port}"
profile = "{site.profile}"
fixmedins_code = "H52010200001"
fixmedins_name = "贵阳市南明区第一人民医院（测试）"
mdtrtarea_admvs = "520102"
capabilities = ["outpatient", "inpatient", "chronic", "pharmacy", "filing", "reconciliation"]
reference = true
catalogue_seed = 20240101
recon_scope = "run"
city = "{CITIES[index % len(CITIES)]}"
level = "{LEVELS[index % len(LEVELS)]}"
vendor = "{VENDORS[index % len(VENDORS)]}"

[gateway]
family = "none"
'''


def plan_sites(count: int) -> list[Site]:
    sites: list[Site] = []
    mutants = iter(MUTANTS * count)
    for index in range(count - 1):
        profile = PROFILES[index % len(PROFILES)]
        mutant = next(mutants) if index % 5 == 4 else ""  # every fifth site has a planted bug
        sites.append(Site(f"s{index + 1:02d}-{profile}{'-bug' if mutant else ''}", profile, free_port(),
                          30 + (index * 23) % 51, mutant))
    sites.append(Site("zz-down", "baseline", free_port(), 0))  # nothing listens there
    return sites


def start_platforms(sites: list[Site], logs: Path) -> None:
    """Start every reachable site's platform at once, then wait for each to answer its health check."""
    for site in sites[:-1]:
        faults = [f"*:delay={site.delay_ms}"] + ([f"*:mutant={site.mutant}"] if site.mutant else [])
        command = [sys.executable, "-m", "harness", "platform", "serve", "--port", str(site.port), "--db", ":memory:",
                   "--profile", site.profile, "--no-verify"]
        for fault in faults:
            command += ["--fault", fault]
        log = (logs / f"platform-{site.id}.log").open("w")
        site.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 300  # setup only: 20 interpreters start on a loaded machine
    for site in sites[:-1]:
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{site.port}/__admin/health", timeout=5):
                    break
            except OSError:
                if site.process is None or site.process.poll() is not None or time.monotonic() > deadline:
                    text = (logs / f"platform-{site.id}.log").read_text(encoding="utf-8", errors="replace")
                    raise SystemExit(f"the platform of {site.id} did not start:\n{text[-2000:]}") from None
                time.sleep(0.3)


def stop_platforms(sites: list[Site]) -> None:
    running = [s.process for s in sites if s.process is not None]
    for process in running:
        process.terminate()
    for process in running:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=20)


def switch_mutant_on(site: Site, name: str) -> None:
    body = json.dumps({"infno": "*", "kind": "mutant", "name": name}).encode("utf-8")
    request = urllib.request.Request(f"http://127.0.0.1:{site.port}/__admin/faults", data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        answer.read()
    site.mutant = name


def run_matrix(sites_dir: Path, out: Path, jobs: int, keyword: str, ledger: Path) -> tuple[float, dict, str]:
    command = [sys.executable, "-m", "harness", "matrix", str(sites_dir), "--out", str(out), "--jobs", str(jobs),
               "-k", keyword, "--ledger", str(ledger), "--reports-dir", str(out.parent / "reports")]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    matrix_file = out / "matrix.json"
    if not matrix_file.is_file():
        raise SystemExit(f"the matrix wrote no matrix.json (exit {done.returncode}):\n{done.stdout}\n{done.stderr}")
    document = json.loads(matrix_file.read_text(encoding="utf-8"))
    if done.returncode != document["exit_code"]:
        raise SystemExit(f"exit {done.returncode} but matrix.json says {document['exit_code']}:\n{done.stdout}")
    return wall, document, done.stdout


def check_matrix(label: str, document: dict, sites: list[Site], out: Path) -> list[str]:
    """What must hold after every matrix: verdicts as planted, the unreachable row, every evidence folder intact."""
    from typer.testing import CliRunner

    from harness.cli import app

    problems: list[str] = []
    rows = {row["id"]: row for row in document["sites"]}
    if sorted(rows) != sorted(s.id for s in sites):
        problems.append(f"{label}: sites {sorted(rows)} instead of {sorted(s.id for s in sites)}")
    if document["exit_code"] != 3:
        problems.append(f"{label}: matrix exit {document['exit_code']}, expected 3 (one site unreachable)")
    verifier = CliRunner()
    for site in sites:
        row = rows.get(site.id)
        if row is None:
            continue
        if not site.reachable:
            expected = ("error", 3)
        elif site.mutant:
            expected = ("not certified", 1)
        else:
            expected = ("certified", 0)
        if (row["verdict"], row["exit_code"]) != expected:
            problems.append(f"{label}: {site.id} is {row['verdict']} (exit {row['exit_code']}), expected "
                            f"{expected[0]} (exit {expected[1]}): {row.get('message', '')}")
        if site.reachable:
            checked = verifier.invoke(app, ["verify", row["evidence"] or str(out / site.id)])
            if checked.exit_code != 0:
                problems.append(f"{label}: hsa-cert verify {site.id}: exit {checked.exit_code}: "
                                f"{checked.output.strip()[-300:]}")
    return problems


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def headless(browser: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}", *args],
        capture_output=True, text=True, timeout=180, check=False)


def check_dashboard(work: Path, ledger: Path, sites: list[Site], regressed: Site) -> tuple[list[str], Path, Path]:
    problems: list[str] = []
    page = work / "dashboard.html"
    done = subprocess.run([sys.executable, "-m", "harness", "dashboard", "--ledger", str(ledger), "--out", str(page),
                           "--sites", str(work / "sites")], capture_output=True, text=True, check=False)
    print(f"  {done.stdout.strip()}")
    if done.returncode != 0:
        return [f"dashboard exit {done.returncode}: {done.stdout}{done.stderr}"], page, Path()
    from harness.reporting.dashboard import build_context
    from harness.reporting.ledger import ledger_location

    context = build_context(ledger_location(str(ledger)))
    listed = [r["id"] for r in context["regressed"]]
    if listed != [regressed.id]:
        problems.append(f"dashboard: regressed sites {listed}, expected [{regressed.id!r}]")
    reachable = [s for s in sites if s.reachable]
    runs = {s["id"]: s["runs"] for s in context["sites"]}
    if any(runs.get(s.id) != 2 for s in reachable):
        problems.append(f"dashboard: runs per site {runs}, expected 2 for every reachable site")
    down = sorted(u["id"] for u in context["unreachable"])
    expected_down = sorted(s.id for s in sites if not s.reachable)
    if down != expected_down:
        problems.append(f"dashboard: unreachable sites {down}, expected {expected_down}")
    html = page.read_text(encoding="utf-8")
    start = html.find('id="unreachable"')
    section = html[start:html.find("</ul>", start)] if start >= 0 else ""
    if any(f'data-site="{site_id}"' not in section or "无法连接 unreachable since" not in section
           for site_id in expected_down):
        problems.append(f"dashboard: the unreachable section does not name {expected_down}")
    start = html.find('id="regressed"')
    section = html[start:html.find("</ul>", start)] if start >= 0 else ""
    if regressed.id not in section:
        problems.append(f"dashboard: {regressed.id} is not in the regressed section")
    sparks = re.findall(r'<svg class="spark"[^>]*>.*?</svg>', html, flags=re.S)
    points = [len(m.split()) for m in re.findall(r'<polyline[^>]*points="([^"]*)"', "".join(sparks))]
    if len(sparks) < len(reachable) or sum(1 for p in points if p == 2) < len(reachable):
        problems.append(f"dashboard: {len(sparks)} site trend charts, points per line {points}; expected a two-run "
                        f"line for each of {len(reachable)} sites")
    shot = work / "dashboard.png"
    browser = chromium()
    if browser is None:
        problems.append("no Chromium here: no screenshot (install the Debian package `chromium`)")
        return problems, page, Path()
    taken = headless(browser, work / "chromium-1", f"--screenshot={shot}", "--window-size=1400,2400", page.as_uri())
    if not shot.is_file() or shot.read_bytes()[:8] != b"\x89PNG\r\n\x1a\n" or shot.stat().st_size < 20_000:
        problems.append(f"screenshot missing or blank: {taken.stderr[-1000:]}")
    dom = headless(browser, work / "chromium-2", "--dump-dom", page.as_uri())
    if f'data-site="{regressed.id}"' not in dom.stdout:
        problems.append(f"the rendered page has no row for {regressed.id}")
    if any(f'data-site="{site_id}"' not in dom.stdout for site_id in expected_down):
        problems.append(f"the rendered page does not show the unreachable sites {expected_down}")
    return problems, page, shot


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sites", type=int, default=21, help="sites, the unreachable one included (default 21)")
    parser.add_argument("--jobs", default="1,4,8", help="the --jobs values to time, comma-separated (first: baseline)")
    parser.add_argument("--rounds", type=int, default=1, help="matrices per --jobs value (headline: the median)")
    parser.add_argument("-k", dest="keyword", default=SUBSET, help="scenario subset of every site")
    parser.add_argument("--work", help="working folder (kept); default a temporary folder, removed at the end")
    args = parser.parse_args()
    jobs_list = [int(j) for j in args.jobs.split(",")]
    with contextlib.ExitStack() as stack:
        work = Path(args.work) if args.work else Path(stack.enter_context(tempfile.TemporaryDirectory(
            prefix="hsa-cert-matrix-bench-")))
        if args.work:
            work.mkdir(parents=True, exist_ok=True)
            print(f"working folder (kept): {work}")
        sites = plan_sites(args.sites)
        sites_dir = work / "sites"
        sites_dir.mkdir(exist_ok=True)
        for index, site in enumerate(sites):
            (sites_dir / f"{site.id}.toml").write_text(site_toml(site, index), encoding="utf-8")
        stack.callback(stop_platforms, sites)
        started = time.perf_counter()
        start_platforms(sites, work)
        reachable = [s for s in sites if s.reachable]
        print(f"{len(sites)} sites: {len(reachable)} reference platforms (`hsa-cert platform serve`) under "
              f"{len({s.profile for s in reachable})} profiles ({', '.join(sorted({s.profile for s in reachable}))}), "
              f"{sum(1 for s in sites if s.mutant)} with a mutant on, 1 unreachable (closed port); started in "
              f"{time.perf_counter() - started:.0f} s")
        delays = [s.delay_ms for s in reachable]
        print(f"network latency: every answer of every platform is delayed {min(delays)}-{max(delays)} ms "
              f"(median {statistics.median(delays):.0f} ms; the platform's delay fault '*:delay=MS', per site)")
        print(f"scenarios per site: -k {args.keyword!r}")
        for site in sites:
            note = f"mutant {site.mutant}" if site.mutant else ("unreachable" if not site.reachable else "clean")
            print(f"  {site.id:<24} {site.profile:<11} {site.delay_ms:>3} ms  {note}")

        problems: list[str] = []
        walls: dict[int, list[float]] = {j: [] for j in jobs_list}
        last_ledger = work / "ledger-trend.sqlite"
        per_site: dict[str, float] = {}
        for round_no in range(1, args.rounds + 1):
            for jobs in jobs_list:
                is_last = round_no == args.rounds and jobs == jobs_list[-1]
                ledger = last_ledger if is_last else work / f"ledger-r{round_no}-j{jobs}.sqlite"
                out = work / f"run1-r{round_no}-j{jobs}"
                wall, document, _stdout = run_matrix(sites_dir, out, jobs, args.keyword, ledger)
                walls[jobs].append(wall)
                counts = ", ".join(f"{v} {k}" for k, v in document["counts"].items())
                print(f"round {round_no} --jobs {jobs}: {wall:.1f} s ({counts})")
                problems += check_matrix(f"round {round_no} --jobs {jobs}", document, sites, out)
                if jobs == 1:
                    per_site = {row["id"]: row["wall_s"] for row in document["sites"]}

        base = statistics.median(walls[jobs_list[0]])
        print(f"\nwall time of the matrix ({len(sites)} sites, median of {args.rounds} round(s) each):")
        print(f"  {'--jobs':>7} {'wall s':>8} {'speed-up':>9}  rounds")
        for jobs in jobs_list:
            median = statistics.median(walls[jobs])
            print(f"  {jobs:>7} {median:>8.1f} {base / median:>8.2f}×  {', '.join(f'{w:.1f}' for w in walls[jobs])}")
        if per_site:
            rates = sorted(per_site.values())
            print(f"  serial run: one site takes {statistics.median(rates):.1f} s "
                  f"(median; {rates[0]:.1f}-{rates[-1]:.1f})")

        clean = [s for s in reachable if not s.mutant]
        regressed = clean[len(clean) // 2]
        switch_mutant_on(regressed, REGRESSION)
        print(f"\nregression: mutant {REGRESSION} switched on at {regressed.id}; second matrix into the same ledger")
        jobs = jobs_list[-1]
        wall, document, _stdout = run_matrix(sites_dir, work / "run2", jobs, args.keyword, last_ledger)
        counts = ", ".join(f"{v} {k}" for k, v in document["counts"].items())
        print(f"second run --jobs {jobs}: {wall:.1f} s ({counts})")
        problems += check_matrix("second run", document, sites, work / "run2")
        dash_problems, page, shot = check_dashboard(work, last_ledger, sites, regressed)
        problems += dash_problems
        print(f"dashboard: {page}")
        if shot != Path():
            kept = shot
            if not args.work:  # the temporary folder goes: keep the picture
                kept = Path(tempfile.gettempdir()) / "hsa-cert-matrix-dashboard.png"
                shutil.copyfile(shot, kept)
            print(f"screenshot: {kept}")
        print("\nchecks: " + ("all held (verdicts as planted, every evidence folder verifies, the unreachable site "
                              "is exit 3 and the others ran, the regressed site, two-run trends and the unreachable "
                              "site on the dashboard)"
                              if not problems else f"{len(problems)} FAILED"))
        for problem in problems:
            print(f"  - {problem}")
        return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
