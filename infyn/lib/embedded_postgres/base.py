"""Django database backend for the embedded PostgreSQL.

It is the stock PostgreSQL backend, except that the server is started (or joined)
on the first connection rather than when settings are imported, so commands that
never touch the database (ruff, mypy, ``--help``) never start it.

Settings keys beyond Django's own: ``EMBEDDED_PGDATA`` (the data directory) and
``EMBEDDED_DATABASE`` (the database created on first use; test databases are
created by the test runner itself).
"""

import os
import signal
import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from django.db.backends.postgresql import base as postgresql
from django.db.backends.postgresql.client import DatabaseClient as PostgresClient

from infyn.lib.embedded_postgres import embedded_server, ensure_database

_ensured: set[tuple[Path, str]] = set()


class DatabaseClient(PostgresClient):
    """``manage.py dbshell`` on the embedded server: its own psql, on its socket, as its user
    (the stock client would reach whatever server listens on the machine's default socket)."""

    def runshell(self, parameters: Iterable[str]) -> None:
        params = self.connection.get_connection_params()  # starts or joins the server
        server = embedded_server(Path(self.connection.settings_dict["EMBEDDED_PGDATA"]))
        settings_dict = {
            **self.connection.settings_dict,
            "HOST": params["host"],
            "USER": params["user"],
            "PORT": "",
        }
        args, env = self.settings_to_cmd_args_env(settings_dict, parameters)
        args[0] = str(server.bin_dir / "psql")
        sigint_handler = signal.getsignal(signal.SIGINT)
        try:
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C goes to psql, as Django does
            subprocess.run(args, env={**os.environ, **env} if env else None, check=True)  # noqa: S603
        finally:
            signal.signal(signal.SIGINT, sigint_handler)


class DatabaseWrapper(postgresql.DatabaseWrapper):
    client_class = DatabaseClient

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
