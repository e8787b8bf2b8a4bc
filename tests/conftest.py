"""Fixtures shared by several test files.

`pg_server`: a real PostgreSQL server for the shared-ledger tests, started by the tests themselves from
Debian's binaries (`initdb` and `pg_ctl` under /usr/lib/postgresql/<version>/bin, installed by the
`postgresql` package; `.ci/run` installs it) in a temporary folder, on a free loopback port, with a
password (scram) for TCP, and stopped at the end. As root, the server runs as the `postgres` user
(PostgreSQL refuses root) through `runuser`. Where the binaries are missing the tests are skipped with
the reason, except in CI (`CI` set), where that is a failure: no hidden skip in CI.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from harness.load.embedded import free_port


@dataclass(frozen=True)
class PgServer:
    host: str
    port: int
    user: str
    password: str
    new_database: Callable[[str], str]  # name -> URL of a new, empty database on the server

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}:{self.password}@{self.host}:{self.port}/{database}"


def _pg_bin() -> Path | None:
    """The newest installed server's bin folder (Debian's layout), else initdb on PATH."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                   key=lambda p: [int(n) for n in re.findall(r"\d+", p.parent.parent.name)] or [0])
    if found:
        return found[-1].parent
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path else None


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"PostgreSQL is needed in CI for the shared-ledger tests: {reason} (.ci/run installs the "
                    "Debian package `postgresql`)")
    pytest.skip(f"no PostgreSQL server binaries here: {reason}; `apt-get install postgresql` to run these tests")



@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    bin_dir = _pg_bin()
    if bin_dir is None:
        _unavailable("initdb not found under /usr/lib/postgresql/*/bin nor on PATH")
        return
    as_user: list[str] = []
    owner: Any = None  # pwd.struct_passwd of the user the server runs as, when not the current one
    if getattr(os, "geteuid", lambda: -1)() == 0:  # PostgreSQL will not run as root
        import pwd  # POSIX only: this module is also loaded on Windows

        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            _unavailable("running as root and there is no `postgres` user to run the server as")
            return
        runuser = shutil.which("runuser")
        if runuser is None:
            _unavailable("running as root and there is no runuser to start the server as `postgres`")
            return
        as_user = [runuser, "-u", "postgres", "--"]
    base = Path(tempfile.mkdtemp(prefix="hsa-cert-pg-"))
    password = secrets.token_urlsafe(12)
    (base / "pw").write_text(password + "\n", encoding="utf-8")
    if owner is not None:
        for path in (base, base / "pw"):
            os.chown(path, owner.pw_uid, owner.pw_gid)
    data, log = base / "data", base / "server.log"
    user = "hsa_cert"

    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*as_user, *argv], capture_output=True, text=True, timeout=180, cwd=base)

    done = run(str(bin_dir / "initdb"), "-D", str(data), "-U", user, f"--pwfile={base / 'pw'}", "--auth-local=trust",
               "--auth-host=scram-sha-256", "--no-locale", "-E", "UTF8")
    if done.returncode != 0:
        shutil.rmtree(base, ignore_errors=True)
        pytest.fail(f"initdb failed: {done.stdout}{done.stderr}")
    port = 0
    for _attempt in range(3):  # a free port can be taken between choosing it and the server binding it
        port = free_port()
        options = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=60"
        done = run(str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "-t", "120",
                   "start")
        if done.returncode == 0:
            break
    else:
        text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
        shutil.rmtree(base, ignore_errors=True)
        pytest.fail(f"the PostgreSQL server did not start: {done.stdout}{done.stderr}{text}")

    import psycopg  # the tests' own administration (the harness reaches it only through ledger_pg)

    server_url = f"postgresql://{user}:{password}@127.0.0.1:{port}/postgres"

    def new_database(name: str) -> str:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql://{user}:{password}@127.0.0.1:{port}/{name}"

    try:
        yield PgServer("127.0.0.1", port, user, password, new_database)
    finally:
        run(str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(base, ignore_errors=True)
