"""Fuzz: the whole harness (runner, plugin, reporting) against a hostile site, counting how it copes.

    python bench/fuzz.py [--answers 10000] [--seed 1] [--only NAME ...] [--timeout 0.5] [--keep DIR]

Starts `harness.hostile.HostileSite` (every answer but the sign-in malformed, seeded), writes a site config
pointing at it, and runs the default suite through `harness.session.run_session` (the same path as
`hsa-cert run --site`) as many times as it takes to draw the asked number of malformed answers. Then it
joins what the site answered (msgid by msgid) with what the evidence recorded, and prints:

- crashes: a Python exception that escaped the harness (a run that raised, or a scenario that never got a
  result: "not run: the run was interrupted"), a scenario ended by a bug of the harness ("internal error",
  its exchanges kept), and answers whose exchange is missing from exchanges.jsonl;
- hangs: exchanges that took longer than the deadline plus one second;
- classified: every malformed answer recorded as an infrastructure error, a finding, or a pass (joined by
  msgid; a negative case sent without a msgid by its infno; an answer to a request without a JSON body is
  the GET a redirect made of the POST: a follow-up, part of the exchange that was redirected);
- per malformation: how many were drawn and how the harness took them.
Exit status 0 when there are no crashes and no hangs, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

# bench/ holds other scripts (bench/platform.py) that would shadow stdlib modules of the same name.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

from harness.hostile import CATALOGUE, HostileSite  # noqa: E402
from harness.session import run_session  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def site_toml(url: str, timeout_s: float) -> str:
    """The embedded platform's site config, pointed at the hostile site, with the breaker out of the way."""
    text = (ROOT / "fixtures" / "sites" / "embedded.toml").read_text(encoding="utf-8")
    lines = []
    for line in text.splitlines():
        if line.startswith("base_url"):
            line = f'base_url = "{url}"'
        elif line.startswith("timeout_s"):
            line = f"timeout_s = {timeout_s}"
        elif line.startswith("breaker_threshold"):
            line = "breaker_threshold = 1000000"
        lines.append(line)
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--answers", type=int, default=10_000, help="malformed answers to draw (default 10000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--only", nargs="*", help="malformations to draw from (default: the whole catalogue)")
    parser.add_argument("--timeout", type=float, default=0.5, help="the site's read timeout in seconds")
    parser.add_argument("--keep", help="write the runs' evidence here instead of a temporary folder")
    args = parser.parse_args(argv)
    deadline_s = args.timeout * 3  # the transport's default total deadline
    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="hsa-cert-fuzz-"))
    folder.mkdir(parents=True, exist_ok=True)
    crashes: list[str] = []
    recorded: dict[str, dict] = {}
    unkeyed: dict[str, list[dict]] = defaultdict(list)
    outcomes: Counter[str] = Counter()
    started = time.perf_counter()
    runs = 0
    with HostileSite(args.seed, only=args.only, honest={"9001"}, slow_weight=0.1) as site:
        site_file = folder / "hostile.toml"
        site_file.write_text(site_toml(site.url, args.timeout), encoding="utf-8")
        while len(site.log) < args.answers:
            runs += 1
            out = folder / f"run-{runs}"
            try:
                run_session(site_file=site_file, seed=args.seed + runs, out=out, echo=lambda _line: None)
            except BaseException as exc:
                crashes.append(f"run {runs} raised {type(exc).__name__}: {str(exc)[:200]}")
                if isinstance(exc, KeyboardInterrupt):
                    break
            results = out / "results.json"
            if results.exists():
                document = json.loads(results.read_text(encoding="utf-8"))
                for scenario in document.get("scenarios", []):
                    outcomes[scenario.get("outcome", "?")] += 1
                    if str(scenario.get("reason", "")).startswith("not run: the run was interrupted"):
                        crashes.append(f"run {runs}: {scenario.get('id')} has no result (an exception escaped)")
                    elif str(scenario.get("reason", "")).startswith("internal error"):
                        crashes.append(f"run {runs}: {scenario.get('id')}: {scenario['reason'][:160]}")
            exchanges = out / "exchanges.jsonl"
            if exchanges.exists():
                for line in exchanges.read_text(encoding="utf-8").split("\n"):  # JSON Lines: \n only
                    if not line:
                        continue
                    try:
                        record = json.loads(line)
                    except ValueError as exc:
                        crashes.append(f"run {runs}: a line of exchanges.jsonl is not JSON ({exc})")
                        continue
                    msgid = str((record.get("request") or {}).get("msgid") or "")
                    if msgid:
                        recorded[msgid] = record
                    else:  # a negative case without a msgid: joined by infno below
                        unkeyed[str(record.get("infno") or "")].append(record)
            print(f"run {runs}: {len(site.log)} malformed answers so far", file=sys.stderr)
        log = list(site.log)
    elapsed = time.perf_counter() - started

    per: dict[str, Counter[str]] = defaultdict(Counter)
    hangs = []
    missing_examples: list[str] = []
    for msgid, _infno, name in log:
        if not msgid and not _infno:
            # no JSON body: the GET a redirect turned the POST into, part of the exchange that was redirected
            per[name]["follow-up"] += 1
            continue
        record = recorded.get(msgid) if msgid else (unkeyed[_infno].pop() if unkeyed[_infno] else None)
        if record is None:
            per[name]["missing"] += 1
            if len(missing_examples) < 10:
                missing_examples.append(f"missing: {name} answered {_infno} msgid {msgid}")
            continue
        kind = "infrastructure error" if record.get("error") else "answered"
        per[name][kind] += 1
        if float(record.get("elapsed_ms") or 0) > (deadline_s + 1.0) * 1000:
            hangs.append(f"{name}: {msgid} took {record['elapsed_ms']:.0f} ms")
    missing = sum(c["missing"] for c in per.values())
    if missing:
        crashes.append(f"{missing} answers have no exchange in exchanges.jsonl")

    print(f"\nfuzz: {len(log)} malformed answers in {runs} runs, {elapsed:.0f} s, seed {args.seed}")
    print(f"{'malformation':24s} {'drawn':>6s} {'infra error':>12s} {'answered':>9s} {'follow-up':>10s} "
          f"{'missing':>8s}")
    for name in sorted(per):
        c = per[name]
        print(f"{name:24s} {sum(c.values()):6d} {c['infrastructure error']:12d} {c['answered']:9d} "
              f"{c['follow-up']:10d} {c['missing']:8d}")
    print(f"\nscenario outcomes: {dict(sorted(outcomes.items()))}")
    classified = sum(c["infrastructure error"] + c["answered"] + c["follow-up"] for c in per.values())
    print(f"crashes {len(crashes)} · hangs {len(hangs)} · classified {classified}/{len(log)} · "
          f"catalogue {len(CATALOGUE)} malformations · evidence in {folder}")
    for line in (crashes + hangs)[:30] + missing_examples:
        print(f"  {line}")
    return 0 if not crashes and not hangs else 1


if __name__ == "__main__":
    sys.exit(main())
