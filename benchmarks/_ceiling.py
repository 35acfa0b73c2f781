"""The ceiling: C clients against the same nginx (``openssl s_time`` and ``curl``)."""

from __future__ import annotations

import re
import subprocess
import time
from typing import Any

from ._env import Nginx, PKIFiles, find_tool

__all__ = ["CEILING_ROWS", "run_ceiling"]

#: (row, what it measures, unit)
CEILING_ROWS = (
    ("s_time-tls13", "openssl s_time -new -www /small, TLS 1.3 port", "connections/s"),
    ("s_time-tls12", "openssl s_time -new -www /small, TLS 1.2 port", "connections/s"),
    ("curl-bulk", "curl --http1.1 -o /dev/null /big (64 MiB), TLS 1.3 port", "MB/s"),
)
_CONNECTIONS = re.compile(r"(\d+) connections in [\d.]+s;")


def _s_time_command(openssl: str, port: int, pki: PKIFiles, seconds: int) -> list[str]:
    return [
        openssl,
        "s_time",
        "-connect",
        f"127.0.0.1:{port}",
        "-new",
        "-www",
        "/small",
        "-time",
        str(seconds),
        "-CAfile",
        pki.bundle,
        "-verify",
        "2",
    ]


def _s_time_result(process: subprocess.Popen[str], start: float, seconds: int) -> float:
    stdout, stderr = process.communicate(timeout=seconds + 60)
    # s_time reports whole "real seconds"; the wall clock around it is finer (and
    # includes starting the process and loading the CA file: a slight underestimate).
    wall = time.perf_counter() - start
    found = _CONNECTIONS.search(stdout)
    if process.returncode != 0 or found is None:
        raise RuntimeError(f"openssl s_time failed: {(stderr or stdout)[-300:]}")
    return int(found.group(1)) / wall


def _curl(curl: str, nginx: Nginx, pki: PKIFiles) -> float:
    command = [
        curl,
        "--silent",
        "--show-error",
        "--http1.1",
        "--output",
        "/dev/null",
        "--cacert",
        pki.bundle,
        "--write-out",
        "%{speed_download} %{size_download}",
        nginx.url("/big"),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"curl failed: {done.stderr.strip()[-300:]}")
    speed, size = done.stdout.split()
    if int(float(size)) <= 0:
        raise RuntimeError("curl downloaded nothing")
    return float(speed) / 1_000_000


def run_ceiling(
    nginx: Nginx, pki: PKIFiles, seconds: int, *, together: bool = False
) -> dict[str, Any]:
    """One round of the C clients: ``{row: rate}``, or ``{row: "error text"}``.

    With *together* (the smoke mode) both ``s_time`` runs overlap: quicker, not a
    measurement.
    """
    openssl = find_tool("openssl")
    curl = find_tool("curl")
    out: dict[str, Any] = {}
    ports = (("s_time-tls13", nginx.port13), ("s_time-tls12", nginx.port12))
    if openssl is None:
        out.update({row: "openssl is not installed" for row, _ in ports})
    else:
        started: list[tuple[str, subprocess.Popen[str], float]] = []
        for row, port in ports:
            command = _s_time_command(openssl, port, pki, seconds)
            process = subprocess.Popen(
                command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
            started.append((row, process, time.perf_counter()))
            if not together:
                out[row] = _collect(process, started[-1][2], seconds)
        if together:
            for row, process, start in started:
                out[row] = _collect(process, start, seconds)
    if curl is None:
        out["curl-bulk"] = "curl is not installed"
    else:
        try:
            out["curl-bulk"] = _curl(curl, nginx, pki)
        except (RuntimeError, subprocess.SubprocessError, ValueError) as e:
            out["curl-bulk"] = str(e)
    return out


def _collect(process: subprocess.Popen[str], start: float, seconds: int) -> float | str:
    try:
        return _s_time_result(process, start, seconds)
    except (RuntimeError, subprocess.SubprocessError) as e:
        process.kill()
        process.wait()
        return str(e)
