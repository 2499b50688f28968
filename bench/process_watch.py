"""CPU, memory and threads of the processes a benchmark drives (daphne, PostgreSQL, itself).

Used by bench/ws_concurrency.py and bench/chat_load.py.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import psutil
from django.conf import settings

SAMPLE_EVERY_S = 0.2


class ProcessWatch(threading.Thread):
    """CPU seconds, peak RSS and peak threads of processes; CPU only, of process trees.

    Sampled every SAMPLE_EVERY_S; the CPU of a child that lived shorter than that is missed.
    """

    def __init__(self, roots: dict[str, psutil.Process], *, trees: Sequence[str] = ()) -> None:
        super().__init__(daemon=True, name="process-watch")
        self.roots = roots
        self.trees = set(trees)  # roots counted with their children (PostgreSQL's backends)
        self.first: dict[str, dict[int, float]] = {name: {} for name in roots}
        self.last: dict[str, dict[int, float]] = {name: {} for name in roots}
        self.peak_rss: dict[str, int] = dict.fromkeys(roots, 0)
        self.peak_threads: dict[str, int] = dict.fromkeys(roots, 0)
        self.stop = threading.Event()
        self.sample(baseline=True)

    def sample(self, *, baseline: bool = False) -> None:
        for name, root in self.roots.items():
            try:
                members = [root]
                if name in self.trees:
                    members += root.children(recursive=True)
                self.peak_rss[name] = max(self.peak_rss[name], root.memory_info().rss)
                self.peak_threads[name] = max(self.peak_threads[name], root.num_threads())
            except psutil.Error:
                continue
            for process in members:
                try:
                    times = process.cpu_times()
                except psutil.Error:
                    continue
                seconds = times.user + times.system
                if baseline:
                    self.first[name][process.pid] = seconds
                self.last[name][process.pid] = seconds

    def run(self) -> None:
        while not self.stop.wait(SAMPLE_EVERY_S):
            self.sample()

    def finish(self) -> dict[str, dict[str, float]]:
        self.stop.set()
        self.join()
        self.sample()
        result = {}
        for name, root in self.roots.items():
            used = sum(
                seconds - self.first[name].get(pid, 0.0) for pid, seconds in self.last[name].items()
            )
            result[name] = {"cpu_s": round(used, 2)}
            if name not in self.trees:
                rss = high_water_rss(root) or self.peak_rss[name]
                result[name]["peak_rss_mb"] = round(rss / 2**20, 1)
                result[name]["peak_threads"] = self.peak_threads[name]
        return result


def high_water_rss(process: psutil.Process) -> int | None:
    """The kernel's peak resident set size of a process (Linux), in bytes."""
    try:
        status = Path(f"/proc/{process.pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return None


def postmaster_process() -> psutil.Process | None:
    """The embedded PostgreSQL's postmaster, when the database is the embedded one."""
    pgdata = settings.DATABASES["default"].get("EMBEDDED_PGDATA")
    if not pgdata:
        return None
    try:
        pid = int((Path(pgdata) / "postmaster.pid").read_text().split()[0])
        return psutil.Process(pid)
    except (OSError, ValueError, IndexError, psutil.Error):
        return None
