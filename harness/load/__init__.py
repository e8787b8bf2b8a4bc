"""Load and SLA certification (layer 3, beside the runner): `hsa-cert load`.

- `shapes`: load shapes as data (specs/load/shapes.json).
- `slo`: service-level objectives from the certification profile, judged per interface.
- `flows`: what one HIS user does (sign-in, outpatient and inpatient visits), identity pools.
- `plan`: addressing, signing and judging one request (schema-validated answers).
- `locust_run`: Locust in library mode (the only importer of locust and gevent; imported late).
- `embedded`: the embedded platform as its own process; `report`: results.json `load`, HTML; `run`.

This package's `__init__` imports nothing of Locust: importing it does not patch the process.
"""

from harness.load.shapes import LoadShape, load_shape, shape_names
from harness.load.slo import InterfaceStats, Objective, judge, load_objectives, parse_objective

__all__ = ["InterfaceStats", "LoadShape", "Objective", "judge", "load_objectives", "load_shape",
           "parse_objective", "shape_names"]
