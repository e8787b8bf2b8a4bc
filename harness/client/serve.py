"""`hsa-cert client serve`: the judge on one port until SIGINT/SIGTERM or `POST /__admin/session/finish`.

The platform listens on 127.0.0.1:PORT with the same endpoint paths as `platform serve`; a HIS under
test talks to it as to the national platform. Cases are marked with `POST /__admin/session/case`
(or `hsa-cert client case START|END ID`), or correlated by persona. On finish the evidence is
written to OUT and the gate's exit code returned (0 certified, 1 findings).
"""

from __future__ import annotations

import json
import signal
import tempfile
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from types import FrameType

from harness.client.evidence import ClientEvidence, write_evidence
from harness.client.session import ClientSession, load_plan
from harness.errors import InfrastructureError
from harness.platform.server import start_background

__all__ = ["admin_post", "serve_client"]


def serve_client(*, plan_name: str, port: int, out: Path, profile: str = "baseline", strict: bool = False,
                 host: str = "127.0.0.1", allure_report: bool = False, ledger: Path | None = None,
                 echo: Callable[[str], None] = print,
                 ready: Callable[[str], None] | None = None) -> ClientEvidence:  # fmt: skip
    plan = load_plan(plan_name)
    finish = threading.Event()
    with tempfile.TemporaryDirectory(prefix="hsa-cert-client-", ignore_cleanup_errors=True) as tmp:
        session = ClientSession(plan, profile_name=profile, strict=strict, db_path=str(Path(tmp) / "platform.sqlite"),
                                on_finish=finish.set, verify_signatures=True)
        running = start_background(session.platform, host=host, port=port)
        previous: dict[int, object] = {}

        def stop(signum: int, _frame: FrameType | None) -> None:
            finish.set()

        in_main = threading.current_thread() is threading.main_thread()
        if in_main:
            for sig in (signal.SIGINT, signal.SIGTERM):
                previous[sig] = signal.signal(sig, stop)
        try:
            echo(f"hsa-cert client: judging plan {plan.name} ({len(plan.cases)} cases), profile {profile}"
                 f"{', strict' if strict else ''}, at {running.url}")
            echo(f"  endpoint {running.url}/fsi/api/rsfComIfsService/callService; finish with Ctrl-C or "
                 f"POST {running.url}/__admin/session/finish")
            if ready is not None:
                ready(running.url)
            while not finish.wait(0.2):
                pass
        finally:
            if in_main:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)  # type: ignore[arg-type]
            running.stop()
        verdicts = session.finish()
    evidence = write_evidence(plan, verdicts, out, profile=profile, strict=strict, started_at=session.started_at,
                              allure_report=allure_report, ledger=ledger, echo=echo)
    summary = evidence.document["summary"]
    echo(f"hsa-cert client: {summary['passed']}/{summary['total']} cases passed; "
         f"{len(evidence.document['findings'])} findings; verdict {evidence.verdict.upper()}; evidence in {out}")
    return evidence


def admin_post(port: int, path: str, body: dict[str, object], host: str = "127.0.0.1") -> dict[str, object]:
    """POST to a running judge's admin endpoint (the `client case` and `client finish` verbs)."""
    request = urllib.request.Request(f"http://{host}:{port}{path}", data=json.dumps(body).encode(),
                                     headers={"content-type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return dict(json.loads(response.read() or b"{}"))
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode("utf-8", "replace")
        raise InfrastructureError("The judge refused the request", location=f"{host}:{port}{path}",
                                  detail=detail) from exc
    except (urllib.error.URLError, OSError) as exc:
        raise InfrastructureError("No judge answers on that port", location=f"{host}:{port}", detail=str(exc),
                                  hint="start it with `hsa-cert client serve --port P --out DIR`") from exc
