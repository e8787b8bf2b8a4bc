"""A hostile site for robustness testing: every answer malformed in a named, seeded way (see catalogue)."""

from harness.hostile.catalogue import CATALOGUE, Answer, Malformation, plausible_envelope
from harness.hostile.server import HostileSite

__all__ = ["CATALOGUE", "Answer", "HostileSite", "Malformation", "plausible_envelope"]
