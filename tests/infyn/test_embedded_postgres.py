import json
import subprocess
import sys
import time
from pathlib import Path

import psutil

from tests.infyn.servers import ROOT

# Each process starts (or joins) the server, creates a database and a table in it, then holds
# its connection a while so that both are using the server at the same time.
CLIENT = """
import json, sys, time
from pathlib import Path
import psycopg
from infyn.lib.embedded_postgres import embedded_server, ensure_database

pgdata, start_at, name = Path(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
while time.time() < start_at:
    time.sleep(0.001)
server = embedded_server(pgdata)
ensure_database(server, "shared")
with psycopg.connect(server.conninfo("shared"), autocommit=True) as conn:
    conn.execute(f"CREATE TABLE seen_{name} (at timestamptz DEFAULT now())")
    time.sleep(2)
    started = conn.execute("SELECT pg_postmaster_start_time()::text").fetchone()[0]
    tables = conn.execute("SELECT tablename FROM pg_tables WHERE tablename LIKE 'seen_%'")
    names = sorted(row[0].removeprefix("seen_") for row in tables)
print(json.dumps({"pid": server.pid, "started": started, "names": names}))
"""


def test_two_processes_starting_the_embedded_database_at_once_share_one_server(
    tmp_path: Path,
) -> None:
    # given two processes told to start at the same instant on an empty data directory
    pgdata = tmp_path / "pgdata"
    start_at = str(time.time() + 1.0)
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", CLIENT, str(pgdata), start_at, name],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("first", "second")
    ]

    # when both run
    results = []
    for process in processes:
        stdout, stderr = process.communicate(timeout=120)
        assert process.returncode == 0, stderr
        results.append(json.loads(stdout.strip().splitlines()[-1]))

    # then both worked, on one and the same server, and each saw the other's table
    assert results[0]["pid"] == results[1]["pid"]
    assert results[0]["started"] == results[1]["started"]
    assert results[0]["names"] == results[1]["names"] == ["first", "second"]
    # and the server stopped with its last user
    assert not psutil.pid_exists(results[0]["pid"]) or (
        psutil.Process(results[0]["pid"]).status() == psutil.STATUS_ZOMBIE
    )
