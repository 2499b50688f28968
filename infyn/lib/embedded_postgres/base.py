"""Django database backend for the embedded PostgreSQL.

It is the stock PostgreSQL backend, except that the server is started (or joined)
on the first connection rather than when settings are imported, so commands that
never touch the database (ruff, mypy, ``--help``) never start it.

Settings keys beyond Django's own: ``EMBEDDED_PGDATA`` (the data directory) and
``EMBEDDED_DATABASE`` (the database created on first use; test databases are
created by the test runner itself).
"""

from pathlib import Path
from typing import Any

from django.db.backends.postgresql import base as postgresql

from infyn.lib.embedded_postgres import embedded_server, ensure_database

_ensured: set[tuple[Path, str]] = set()


class DatabaseWrapper(postgresql.DatabaseWrapper):
    def get_connection_params(self) -> dict[str, Any]:
        server = embedded_server(Path(self.settings_dict["EMBEDDED_PGDATA"]))
        database = self.settings_dict["NAME"]
        if database == self.settings_dict["EMBEDDED_DATABASE"] and (
            (server.pgdata, database) not in _ensured
        ):
            ensure_database(server, database)
            _ensured.add((server.pgdata, database))
        params = super().get_connection_params()
        params["host"] = server.socket_dir
        params["user"] = server.user
        params.pop("port", None)
        return params
