"""A second, deliberately different implementation of the national platform's interfaces, for tests.

Not hsa-cert's reference platform: written from the spec (interface-facts, business-context, the
Hunan V1.1.27 tables), with its own persons, ids, refusal steps, err_msg wording and money rules, and
switchable planted bugs. Standard library only. Start it with

    python -m tests.foreign_site --port 8090 --db /tmp/foreign.sqlite [--bug psn-part-off]

or from a test with `start_in_thread(db_path)`. `site.toml` beside this file is its site config.
"""

from .server import BUGS, Site, bugs_from, start_in_thread

__all__ = ["BUGS", "Site", "bugs_from", "start_in_thread"]
