"""A real, throwaway PostgreSQL server on a free loopback port (Debian's postgresql binaries)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from agrorisk_common.ports import free_port

PG_BIN = Path("/usr/lib/postgresql/15/bin")


class PostgresMissing(RuntimeError):
    """The PostgreSQL server binaries are not installed."""


def _as_postgres(args: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: switch to the postgres user when we are root."""
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


@contextmanager
def postgres_server(user: str) -> Iterator[tuple[str, int]]:
    """initdb (trust auth, superuser `user`) and start a server; yields (host, port); stops and removes it.
    Raises PostgresMissing without the binaries (`apt-get install postgresql`)."""
    initdb = PG_BIN / "initdb" if (PG_BIN / "initdb").exists() else shutil.which("initdb")
    if initdb is None:
        raise PostgresMissing("PostgreSQL server binaries are not installed (apt-get install postgresql)")
    root = Path(tempfile.mkdtemp(prefix="agrorisk-pg-"))  # pytest's tmp tree is private to root
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
    data, pg_ctl, port = root / "data", Path(initdb).with_name("pg_ctl"), free_port()
    subprocess.run(_as_postgres([str(initdb), "-D", str(data), "-A", "trust", "-U", user]),
                   check=True, capture_output=True)  # fmt: skip
    subprocess.run(
        _as_postgres([str(pg_ctl), "-D", str(data), "-l", str(root / "log"), "-w", "start",
                      "-o", f"-p {port} -k {root} -c listen_addresses=127.0.0.1"]),
        check=True, capture_output=True,
    )  # fmt: skip
    try:
        yield "127.0.0.1", port
    finally:
        subprocess.run(
            _as_postgres([str(pg_ctl), "-D", str(data), "-m", "fast", "stop"]), capture_output=True
        )
        shutil.rmtree(root, ignore_errors=True)
