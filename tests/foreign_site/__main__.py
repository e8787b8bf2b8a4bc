"""python -m tests.foreign_site --port P --db FILE [--bug NAME] (or FOREIGN_SITE_BUG=NAME)."""

from __future__ import annotations

import argparse
import os

from .server import BUGS, bugs_from, serve


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.foreign_site", description=__doc__)
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--db", required=True, help="SQLite file holding the site's state (kept across runs)")
    parser.add_argument("--bug", default=os.environ.get("FOREIGN_SITE_BUG", ""),
                        help="planted bug(s), comma-separated: " + ", ".join(BUGS))
    args = parser.parse_args()
    server = serve(args.port, args.db, bugs_from(args.bug), args.host)
    print(f"foreign site on http://{args.host}:{server.server_address[1]}/ybjk/{{infno}} (db {args.db})", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
