"""A built-in HIS (the client), to prove the client judge right: a conforming driver and planted bugs.

Layer 3. It builds messages the way a HIS does (harness.platform.samples: spec msgids, sign_no kept,
the insured region taken from 1101), signs them with the profile's gateway family, and performs
each case of a client plan as an operator would. It does not import the judge: what is right is
written here a second time, from the spec, so that the two can disagree.

`BUGS` is the client-side mutant catalogue: each name is one planted deviation, switched on at
exactly one place in `driver.py`.
"""

from harness.hisdriver.driver import BUGS, SHOULD_BUGS, HisDriver, Lost, Reply

__all__ = ["BUGS", "SHOULD_BUGS", "HisDriver", "Lost", "Reply"]
