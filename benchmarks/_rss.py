"""Peak memory of one client configuration, in a process of its own.

Run as ``python -m benchmarks._rss '<json>'`` by the benchmark: the child imports only
what its configuration needs, builds the client, does new-connection requests,
keep-alive requests and one streamed download, then prints its peak RSS (``VmHWM``
from ``/proc/self/status``, else ``ru_maxrss``) as JSON on stdout.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

__all__ = ["RSSJob", "main", "measure_rss"]

_KIB = 1024


@dataclass(frozen=True)
class RSSJob:
    """What one child does."""

    config: str
    backend: str | None
    bundle: str
    small_url: str
    big_url: str
    new_connections: int
    keepalive: int
    download: bool


def _status_kib(field: str) -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _peak_kib() -> int:
    peak = _status_kib("VmHWM")
    if peak is not None:
        return peak
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)  # KiB on Linux


def main(argv: list[str]) -> int:
    """The child: run the job in ``argv[0]`` and print the measurements."""
    job = RSSJob(**json.loads(argv[0]))
    from ._clients import build_client, configurations
    from ._env import PKIFiles

    backends = (job.backend,) if job.backend else ()
    config = {c.key: c for c in configurations(backends)}[job.config]
    pki = PKIFiles(job.bundle, job.bundle, 0, None, "", "")
    client = build_client(config, pki)
    with client.active():
        client.small(job.small_url, close=True)
        after_first = _status_kib("VmRSS")
        for _ in range(job.new_connections):
            client.small(job.small_url, close=True)
        for _ in range(job.keepalive):
            client.small(job.small_url, close=False)
        downloaded = client.download(job.big_url, 64 * 1024) if job.download else 0
    client.close()
    print(
        json.dumps(
            {
                "peak_kib": _peak_kib(),
                "rss_after_first_request_kib": after_first,
                "ru_maxrss_kib": int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss),
                "downloaded": downloaded,
                "modules": len(sys.modules),
            }
        )
    )
    return 0


def measure_rss(job: RSSJob, cwd: str) -> dict[str, Any]:
    """Run one child for *job*; its JSON report (``error`` set if it failed)."""
    command = [sys.executable, "-m", "benchmarks._rss", json.dumps(job.__dict__)]
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        return {"error": " / ".join(tail) or f"exit status {done.returncode}"}
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
