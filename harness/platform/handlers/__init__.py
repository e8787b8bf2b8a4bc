"""Transaction handlers, one module per business area. Importing this package registers them all
in `harness.platform.context.HANDLERS` (infno -> handler)."""

from harness.platform import recon  # noqa: F401  (3201/3202 live beside their file format)
from harness.platform.handlers import (  # noqa: F401  (imported for their @handler registrations)
    basic,
    filing,
    inpatient,
    outpatient,
    outpatient_a,
    pharmacy,
    queries,
    reversal,
)
