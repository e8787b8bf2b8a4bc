"""`python -m harness.load ARGS-JSON`: the process a load run happens in (started by `hsa-cert load`).

Locust patches the process for gevent when it is imported, and that must happen before ssl and the
HTTP stack are imported: so the run gets a fresh process that imports Locust first. The arguments
are run_load's keyword arguments as one JSON object; errors are rendered like the command line's.
"""

import harness.load.locust_run  # noqa: F401, I001 - first: Locust patches the process before anything imports ssl

import json
import sys
from pathlib import Path

from harness.errors import HsaCertError
from harness.load.run import run_load


def main(argv: list[str]) -> int:
    kwargs = json.loads(argv[0])
    if kwargs.get("out") is not None:
        kwargs["out"] = Path(kwargs["out"])
    try:
        return run_load(**kwargs, say=lambda line: print(line, flush=True))
    except HsaCertError as exc:
        print(exc.render(), file=sys.stderr, flush=True)
        return exc.exit_code
    except KeyboardInterrupt:
        return 3


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
