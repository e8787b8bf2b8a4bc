"""The suite's mutation score, as last measured by `hsa-cert selftest`, for the certificate and certify.

A full self-test run (every platform mutant, not --relevant-only) writes `selftest-score.json` beside
the ledger: how many planted deviations the suite caught, when, and for which suite fingerprint. The
certificate prints it with that date and fingerprint, so a reader knows how much the suite would have
caught and whether the score was measured for the suite that ran; with no file: "not measured".
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness.reporting.ledger_backend import ledger_folder

__all__ = ["SCORE_FILE", "MutationScore", "read_score", "render_score", "score_path", "write_score"]

SCORE_FILE = "selftest-score.json"


def score_path(ledger: Path | str) -> Path:
    """Beside a SQLite ledger; with a server's ledger (a URL), in ./reports of the machine that ran it."""
    return (ledger_folder(ledger) or Path("reports")) / SCORE_FILE


@dataclass(frozen=True, slots=True)
class MutationScore:
    caught: int
    total: int
    measured_at: str  # ISO-8601 UTC
    suite_fingerprint: str

    @property
    def rate(self) -> float | None:
        return self.caught / self.total if self.total else None

    def to_json(self) -> dict[str, Any]:
        return {"caught": self.caught, "total": self.total, "measured_at": self.measured_at,
                "suite_fingerprint": self.suite_fingerprint}

    def render(self, current_fingerprint: str = "") -> str:
        rate = f"{self.rate * 100:.1f}%" if self.rate is not None else "–"
        text = (f"{rate} ({self.caught}/{self.total} platform mutants caught, measured {self.measured_at[:10]}, "
                f"suite {self.suite_fingerprint[:12]})")
        if current_fingerprint and self.suite_fingerprint and current_fingerprint != self.suite_fingerprint:
            text += " — measured for another suite 非本场景集"
        return text


def render_score(score: dict[str, Any] | None, current_fingerprint: str = "") -> str:
    """The score as certificate and console show it; "not measured 未测" without one."""
    if not score:
        return "not measured 未测"
    return MutationScore(**score).render(current_fingerprint)


def write_score(ledger: Path | str, *, caught: int, total: int, suite_fingerprint: str) -> Path:
    path = score_path(ledger)
    path.parent.mkdir(parents=True, exist_ok=True)
    score = MutationScore(caught, total, datetime.now(UTC).isoformat(timespec="seconds"), suite_fingerprint)
    path.write_text(json.dumps(score.to_json(), indent=2) + "\n", encoding="utf-8", newline="\n")
    return path


def read_score(ledger: Path | str) -> dict[str, Any] | None:
    """The last recorded score as JSON, or None when none was recorded (or the file is unreadable)."""
    try:
        data = json.loads(score_path(ledger).read_text(encoding="utf-8"))
        return MutationScore(int(data["caught"]), int(data["total"]), str(data["measured_at"]),
                             str(data["suite_fingerprint"])).to_json()
    except (OSError, ValueError, KeyError, TypeError):
        return None
