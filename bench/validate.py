"""Validations per second of a realistic 2207 (门诊结算) request envelope, single process.

    python bench/validate.py [--seconds 1.0] [--profile baseline]

Measures jsonschema-rs through harness.specs (the fast path `is_valid_request`, and the full report
`validate_request`) against python-jsonschema (Draft 2020-12, pre-compiled, format checker on, the
same profile-applied schema documents), and prints the ratio. Each measurement runs for about
`--seconds` after a short warm-up, so the whole script takes a few seconds.
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/platform.py would shadow the standard library's `platform` (imported here, and by faker): the
# script's own folder leaves the import path, the checkout comes first.
ROOT = Path(__file__).resolve().parents[1]
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(ROOT))

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

import referencing  # noqa: E402
from jsonschema import Draft202012Validator  # noqa: E402

from harness.specs import load_registry  # noqa: E402  (run as a script from a checkout)

EXAMPLES = ROOT / "fixtures" / "examples" / "2207.json"


def realistic_request() -> dict[str, Any]:
    """The cross-province 2207 request of fixtures/examples (every field filled, as a HIS sends it)."""
    for group in json.loads(EXAMPLES.read_text(encoding="utf-8")):
        for test in group["tests"] if group["schema"] == "request" else ():
            if test["valid"] and test["description"].startswith("cross-province request"):
                return test["data"]
    raise SystemExit(f"no valid 2207 request in {EXAMPLES}")


def rate(check: Callable[[], object], seconds: float) -> float:
    """Calls per second of `check`, measured in batches until `seconds` have passed."""
    for _ in range(50):
        check()
    batch, calls, started = 100, 0, time.perf_counter()
    while True:
        for _ in range(batch):
            check()
        calls += batch
        elapsed = time.perf_counter() - started
        if elapsed >= seconds:
            return calls / elapsed
        batch = min(batch * 2, 50_000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="time per measurement (default 1.0)")
    parser.add_argument("--profile", default="baseline", help="province profile (default baseline)")
    args = parser.parse_args()

    registry = load_registry()
    validator = registry.validator(args.profile)
    envelope = realistic_request()
    spec = registry.interface(envelope["infno"])

    docs = validator.schema_documents()
    resources = referencing.Registry().with_resources(
        (uri, referencing.Resource.from_contents(doc)) for uri, doc in docs.items()
    )

    def compiled(ref: str) -> Draft202012Validator:
        return Draft202012Validator(
            {"$ref": ref}, registry=resources, format_checker=Draft202012Validator.FORMAT_CHECKER
        )

    py_envelope = compiled(registry.schema_id("envelope/request.json"))
    py_input = compiled(spec.input_ref)

    def python_jsonschema() -> bool:
        return py_envelope.is_valid(envelope) and py_input.is_valid(envelope["input"])

    violations = validator.validate_request(envelope)
    if violations or not validator.is_valid_request(envelope) or not python_jsonschema():
        raise SystemExit("the benchmark request is not valid:\n" + "\n".join(v.render() for v in violations))

    fields = sum(len(node) if isinstance(node, dict) else 0 for node in envelope["input"].values())
    print(f"{spec.infno} {spec.title_zh} request envelope: {len(envelope) - 1} envelope fields + {fields} input "
          f"fields, {len(json.dumps(envelope, ensure_ascii=False).encode())} bytes; profile {args.profile}, "
          f"spec {registry.version}")
    print(f"Python {platform.python_version()} on {platform.machine()}, one process, "
          f"{args.seconds:g} s per measurement")
    fast = rate(lambda: validator.is_valid_request(envelope), args.seconds)
    full = rate(lambda: validator.validate_request(envelope), args.seconds)
    slow = rate(python_jsonschema, args.seconds)
    print(f"jsonschema-rs via harness.specs, is_valid_request   {fast:>12,.0f} validations/s")
    print(f"jsonschema-rs via harness.specs, validate_request   {full:>12,.0f} validations/s")
    print(f"python-jsonschema, pre-compiled, formats checked    {slow:>12,.0f} validations/s")
    print(f"ratio is_valid_request / python-jsonschema          {fast / slow:>12,.1f}x")
    print(f"ratio validate_request / python-jsonschema          {full / slow:>12,.1f}x")


if __name__ == "__main__":
    main()
