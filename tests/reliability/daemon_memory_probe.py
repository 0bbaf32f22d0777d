"""Run the daemon's worker through many short job runs and print its memory (a child process).

    python -m tests.reliability.daemon_memory_probe JOB[,JOB...] RUNS [CHECKPOINT ...]

The daemon runs as it does in production (its scheduler loop, its worker thread, the
runner claiming and recording every run), except that each finished run queues the next
one at once (the jobs in turn) instead of waiting for the clock. Prints one JSON object:
the resident set size (kB, from /proc) after each checkpoint number of runs, and how the
runs ended.
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from pathlib import Path

from stock_cli.jobs.daemon import Daemon, _Task
from stock_cli.jobs.runner import RunResult
from stock_cli.logs import setup_logging


def resident_kb(pid: int | str = "self") -> int | None:
    """Resident set size of a process in kB; None once it has exited (or is a zombie)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return None


class CountingDaemon(Daemon):
    def configure(self, *, jobs: list[str], runs: int, checkpoints: list[int]) -> None:
        self.jobs, self.runs, self.checkpoints = jobs, runs, set(checkpoints)
        self.done = 0
        self.resident: dict[int, int] = {}
        self.statuses: Counter[str] = Counter()

    def execute(self, task: _Task) -> list[RunResult]:
        results = super().execute(task)
        self.done += 1
        self.statuses.update(r.status for r in results)
        if self.done in self.checkpoints:
            self.resident[self.done] = resident_kb()
        if self.done >= self.runs:
            self.stopping.set()
        else:
            job = self.jobs[self.done % len(self.jobs)]
            self.tasks.put(_Task(job, f"2026-01-01T00:00:00#probe{os.getpid()}-{self.done}"))
        return results


def main(argv: list[str]) -> None:
    jobs, runs, checkpoints = argv[0].split(","), int(argv[1]), [int(a) for a in argv[2:]]
    setup_logging(level="INFO")
    daemon = CountingDaemon(retry_delays=())
    daemon.configure(jobs=jobs, runs=runs, checkpoints=checkpoints)
    daemon.load()
    daemon.tasks.put(_Task(jobs[0], f"2026-01-01T00:00:00#probe{os.getpid()}-0"))
    daemon.run_forever()
    print(
        json.dumps(
            {
                "resident_kb": daemon.resident,
                "statuses": dict(daemon.statuses),
                "runs": daemon.done,
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1:])
