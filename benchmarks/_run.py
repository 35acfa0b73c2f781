"""Run the whole benchmark: set up, check, measure in rounds, profile misses, write reports."""

from __future__ import annotations

import cProfile
import datetime
import os
import platform
import pstats
import shutil
import ssl
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from ._ceiling import run_ceiling
from ._clients import BASELINE, Config, build_client, configurations, resumption_configurations
from ._env import Nginx, ensure_nginx, make_pki, pin_client, prepare_environment
from ._rss import RSSJob, measure_rss
from ._scenarios import (
    THREADS,
    NotApplicable,
    Runner,
    Scenario,
    Setting,
    prepare,
    resumption_scenarios,
    run_pair,
    run_scaling_pair,
    scenarios,
    tls_for,
)

__all__ = ["QUICK", "STANDARD", "Options", "charts_directory", "run"]

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Options:
    """How long and how much to measure, and where the reports go."""

    #: Rounds of every scenario (A B C ... once per round).
    rounds: int
    #: Seconds each configuration gets per round (its slice).
    duration: float
    #: Peak-RSS probes per configuration (interleaved).
    rss_runs: int
    #: Rounds of the C-client ceiling (each: two ``s_time`` runs and one ``curl``).
    ceiling_rounds: int
    #: ``openssl s_time -time``.
    ceiling_seconds: int
    #: Seconds of cProfile per missed target.
    profile_seconds: float
    #: The smoke mode: every row, minimal time; numbers are not meaningful.
    quick: bool
    #: Backends to include (``None``: every available one).
    backends: tuple[str, ...] | None
    #: Where the JSON results go.
    json_path: Path
    #: Where the Markdown report goes.
    markdown_path: Path
    #: Install nginx-light with apt-get when it is missing (root only).
    install_nginx: bool = True
    #: RSS probe workload: new-connection requests, keep-alive requests, full download.
    rss_workload: tuple[int, int, bool] = (50, 200, True)
    #: RSS probes for plain requests and TLSAdapter on every backend (``False``: OpenSSL only).
    rss_every_backend: bool = True
    #: At most this many profiles of missed targets.
    max_profiles: int = 8
    #: Requests per kind in the connection checks.
    check_requests: int = 3
    #: Rounds (A B B A) of each paired measurement of an OpenSSL target.
    paired_rounds: int = 40
    #: Seconds of each slice of a paired measurement.
    paired_duration: float = 0.03
    #: Where the SVG charts go (``None``: ``_static/bench`` beside the Markdown report;
    #: in the quick mode ``<report>.charts.tmp``, so the committed charts stay).
    charts_dir: Path | None = None


STANDARD = Options(
    rounds=30,
    duration=0.06,
    rss_runs=2,
    ceiling_rounds=3,
    ceiling_seconds=1,
    profile_seconds=1.0,
    quick=False,
    backends=None,
    json_path=ROOT / "benchmarks" / "results" / "latest.json",
    markdown_path=ROOT / "docs" / "benchmarks.md",
)
QUICK = replace(
    STANDARD,
    rounds=1,
    duration=0.002,
    rss_runs=1,
    ceiling_rounds=1,
    ceiling_seconds=1,
    profile_seconds=0.02,
    quick=True,
    json_path=ROOT / "benchmarks" / "results" / "quick.json.tmp",
    markdown_path=ROOT / "benchmarks" / "results" / "quick.md.tmp",
    rss_workload=(2, 2, False),
    rss_every_backend=False,
    max_profiles=1,
    check_requests=2,
    paired_rounds=1,
    paired_duration=0.002,
)


def charts_directory(options: Options) -> Path:
    """Where *options* put the charts."""
    if options.charts_dir is not None:
        return options.charts_dir
    if options.quick:
        return options.markdown_path.with_suffix(".charts.tmp")
    return options.markdown_path.parent / "_static" / "bench"


def _log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# -- sanity: does each scenario open the connections it says it does? -------------------
def _check(config: Config, setting: Setting, count: int) -> dict[str, Any]:
    """*count* new-connection requests per TLS version and *count* keep-alive requests."""
    from tls_adapter import TLSVersion, get_backend

    versions: tuple[str, ...] = ("1.3", "1.2")
    if config.backend is not None:
        supported = get_backend(config.backend).capabilities.tls_versions
        versions = tuple(
            v
            for v in versions
            if (TLSVersion.TLSv1_3 if v == "1.3" else TLSVersion.TLSv1_2) in supported
        )
    out: dict[str, Any] = {}
    client = build_client(config, setting.pki)
    try:
        with client.active():
            for version in versions:
                heads = [
                    client.small(setting.nginx.url("/small", version), close=True)
                    for _ in range(count)
                ]
                out[f"tls{version}"] = {
                    "new_connection_each_time": len({h["X-Conn"] for h in heads}) == count
                    and {h["X-Conn-Requests"] for h in heads} == {"1"},
                    "protocol": sorted({h["X-TLS"] for h in heads}),
                    "resumed": any(h["X-Reused"] != "." for h in heads),
                }
            keep = versions[0]
            heads = [
                client.small(setting.nginx.url("/small", keep), close=False) for _ in range(count)
            ]
            out["keepalive_one_connection"] = len({h["X-Conn"] for h in heads}) == 1
    finally:
        client.close()
    return out


# -- the rounds -----------------------------------------------------------------------------
def _run_scenario(
    scenario: Scenario, rows: list[str], setting: Setting, options: Options
) -> dict[str, Any]:
    results: dict[str, Any] = {}
    runners: dict[str, Runner] = {}
    for row in rows:
        try:
            runners[row] = prepare(scenario, row, setting)
            results[row] = {"samples": [], "note": runners[row].note}
        except NotApplicable as e:
            results[row] = {"samples": [], "na": str(e)}
        except Exception as e:
            results[row] = {"samples": [], "error": f"{type(e).__name__}: {e}"}
    rounds = max(2 if not options.quick else 1, round(options.rounds * scenario.rounds_factor))
    slice_seconds = options.duration * scenario.slice_factor
    try:
        for _ in range(rounds):
            for row, runner in list(runners.items()):
                try:
                    sample = runner.run(slice_seconds)
                except Exception as e:
                    results[row]["error"] = f"{type(e).__name__}: {e}"
                    results[row]["samples"].append(None)
                    runners.pop(row).close()
                    continue
                results[row]["samples"].append([sample.rate, sample.cpu_rate])
    finally:
        for runner in runners.values():
            try:
                runner.close()
            except Exception as e:  # closing must not lose the results
                _log(f"{scenario.key}: closing a runner failed: {e}")
    return results


def _same_tls(scenario: Scenario, setting: Setting, subject: str) -> tuple[Scenario, str]:
    """*scenario* for the comparator of *subject*: the TLS version *subject* runs.

    A backend without TLS 1.3 runs the TLS 1.3 scenarios on TLS 1.2; its comparator then
    does too, so that a pair compares the same protocol.

    :raises NotApplicable: the subject cannot run the scenario at all.
    """
    if "tls" not in scenario.params:
        return scenario, ""
    tls, note = tls_for(scenario, setting.configs[subject.split("@", 1)[0]])
    if tls == scenario.params["tls"]:
        return scenario, ""
    return (
        replace(scenario, params={**scenario.params, "tls": tls}),
        f"TLS {tls} on both sides of the pair ({note.split(': ', 1)[-1]})",
    )


def _paired(
    pairs: list[tuple[str, str, str]],
    plan: list[Scenario],
    setting: Setting,
    options: Options,
    broken: set[str],
    out: dict[str, Any],
) -> None:
    """Measure each ``(scenario, subject, comparator)`` as an A B B A pair into *out*.

    Pairs already in *out* are not measured again, nor those of a configuration that
    this run does not have (a backend left out).
    """
    from . import _report

    by_key = {s.key: s for s in plan}
    for scenario_key, subject, comparator in pairs:
        name = _report.pair_name(scenario_key, subject, comparator)
        scenario = by_key.get(scenario_key)
        if name in out or scenario is None:
            continue
        if subject not in setting.configs or comparator not in setting.configs:
            continue
        if subject in broken or comparator in broken:
            out[name] = {"error": "a configuration failed its connection check"}
            continue
        runners: list[Runner] = []
        try:
            theirs_scenario, note = _same_tls(scenario, setting, subject)
            if scenario.family == "threads":
                for row, sc in ((subject, scenario), (comparator, theirs_scenario)):
                    for n in (1, THREADS):
                        runners.append(prepare(sc, f"{row}@{n}", setting))
                rounds = max(1, round(options.paired_rounds * scenario.rounds_factor))
                duration = options.paired_duration * 8  # thread start-up needs longer slices
                scaling_mine, scaling_theirs = run_scaling_pair(
                    (runners[0], runners[1]), (runners[2], runners[3]), rounds, duration
                )
                out[name] = {
                    "scaling_subject": scaling_mine,
                    "scaling_comparator": scaling_theirs,
                    # The ratio of the two scalings, per round, as [[value, value], [1, 1]].
                    "subject": [
                        [m / t, m / t] for m, t in zip(scaling_mine, scaling_theirs, strict=True)
                    ],
                    "comparator": [[1.0, 1.0] for _ in scaling_mine],
                }
            else:
                runners.append(prepare(scenario, subject, setting))
                runners.append(prepare(theirs_scenario, comparator, setting))
                mine, theirs = run_pair(
                    runners[0], runners[1], options.paired_rounds, options.paired_duration
                )
                out[name] = {"subject": mine, "comparator": theirs}
                for side, runner in (("subject", runners[0]), ("comparator", runners[1])):
                    if runner.stats():
                        out[name][f"{side}_stats"] = runner.stats()
            if note:
                out[name]["note"] = note
        except NotApplicable as e:
            out[name] = {"na": str(e)}
        except Exception as e:
            out[name] = {"error": f"{type(e).__name__}: {e}"}
        finally:
            for runner in runners:
                runner.close()


def _confirm_resumption(
    plan: list[Scenario], setting: Setting, pairs: list[tuple[str, str, str]]
) -> dict[str, Any]:
    """Before anything is measured: does each side of each resumption pair do what it
    stands for (the ``shim-<b>-resume`` rows resume, ``urllib3-stdlib`` does not)?

    Per pair: nginx's ``$ssl_session_reused`` for each side (``".rrr"``, ``"...."``), or
    the problem. A problem with OpenSSL's subject or with the comparator fails the run
    (the target would be meaningless); on the other backends it is reported, and that
    pair is not measured.
    """
    from . import _report

    by_key = {s.key: s for s in plan}
    verdict_backend = _report.RESUMPTION[0].verdict_backend
    out: dict[str, Any] = {}
    failures = []
    for scenario_key, subject, comparator in pairs:
        name = _report.pair_name(scenario_key, subject, comparator)
        entry: dict[str, Any] = {}
        try:
            theirs_scenario, _ = _same_tls(by_key[scenario_key], setting, subject)
        except NotApplicable as e:
            out[name] = {"na": str(e)}
            continue
        for side, row, scenario in (
            ("subject", subject, by_key[scenario_key]),
            ("comparator", comparator, theirs_scenario),
        ):
            try:
                runner = prepare(scenario, row, setting)
            except Exception as e:
                entry["error"] = f"{type(e).__name__}: {e}"
                if side == "comparator" or subject == f"shim-{verdict_backend}-resume":
                    failures.append(f"{name}: {entry['error']}")
                break
            entry[side] = runner.stats()["setup"]
            runner.close()
        out[name] = entry
    if failures:
        raise SystemExit(
            "session resumption is not what the resumption target needs:\n  "
            + "\n  ".join(failures)
        )
    return out


def _ceiling(setting: Setting, options: Options) -> dict[str, Any]:
    """C clients, each round next to the baseline doing the same thing for as long."""
    by_key = {s.key: s for s in scenarios([setting.configs[BASELINE]], ())}
    twins = (
        ("s_time-tls13", "new_tls13"),
        ("s_time-tls12", "new_tls12"),
        ("curl-bulk", "bulk_64k"),
    )
    runners = {row: prepare(by_key[key], BASELINE, setting) for row, key in twins}
    out: dict[str, Any] = {row: {"ceiling": [], "baseline": []} for row, _ in twins}
    try:
        for _ in range(options.ceiling_rounds):
            found = run_ceiling(
                setting.nginx, setting.pki, options.ceiling_seconds, together=options.quick
            )
            for row, _ in twins:
                value = found[row]
                if isinstance(value, str):
                    out[row]["error"] = value
                    out[row]["ceiling"].append(None)
                else:
                    out[row]["ceiling"].append(value)
                seconds = options.duration if options.quick else options.ceiling_seconds
                out[row]["baseline"].append(runners[row].run(seconds).rate)
    finally:
        for runner in runners.values():
            runner.close()
    return out


def _rss(setting: Setting, options: Options, backends: tuple[str, ...]) -> dict[str, Any]:
    keys = ["requests-plain", "requests-stdlib"]
    if options.rss_every_backend:
        keys += [f"adapter-{b}-pem" for b in backends]
        keys += ["adapter-openssl-system"] if "openssl" in backends else []
    elif "openssl" in backends:
        keys.append("adapter-openssl-pem")
    new, keepalive, download = options.rss_workload
    out: dict[str, Any] = {key: {"runs": []} for key in keys}
    for _ in range(options.rss_runs):
        for key in keys:
            config = setting.configs[key]
            tls = "1.3"
            if config.backend is not None:
                from tls_adapter import TLSVersion, get_backend

                if TLSVersion.TLSv1_3 not in get_backend(config.backend).capabilities.tls_versions:
                    tls = "1.2"
                    out[key]["note"] = f"TLS 1.2: the {config.backend} backend has no TLS 1.3"
            job = RSSJob(
                key,
                config.backend,
                setting.pki.bundle,
                setting.nginx.url("/small", tls),
                setting.nginx.url("/big", tls),
                new,
                keepalive,
                download,
            )
            result = measure_rss(job, str(ROOT))
            if "error" in result:
                out[key]["error"] = result["error"]
            else:
                out[key]["runs"].append(result)
    return out


# -- profiles of missed targets --------------------------------------------------------------
def _where(path: str) -> str:
    for marker in ("site-packages/", "/lib/python3."):
        if marker in path:
            tail = path.split(marker, 1)[1]
            return tail if marker == "site-packages/" else "stdlib:" + tail.split("/", 1)[-1]
    try:
        return str(Path(path).resolve().relative_to(ROOT))
    except ValueError:
        return path


def profile_row(scenario: Scenario, row: str, setting: Setting, seconds: float) -> dict[str, Any]:
    """cProfile of *row* in *scenario*: the top functions, and tls_adapter's share."""
    if scenario.family == "threads":
        row = row.split("@", 1)[0] + "@1"  # cProfile sees one thread
    runner = prepare(scenario, row, setting)
    try:
        runner.run(min(seconds, 0.2))
        profiler = cProfile.Profile()
        profiler.enable()
        sample = runner.run(seconds)
        profiler.disable()
    finally:
        runner.close()
    stats = pstats.Stats(profiler)
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    ours = {key for key in raw if f"{os.sep}tls_adapter{os.sep}" in key[0]}
    # contextlib's machinery runs on behalf of tls_adapter's context managers (the
    # error-translation boundaries): the time of the calls tls_adapter makes into it.
    # (helper() builds the context manager; __enter__/__exit__ run the with-statement,
    # their own time only: the generator they resume is tls_adapter's, counted already.)
    on_behalf = 0.0
    for key, (_cc, _n, _tt, _ct, callers) in raw.items():
        if not key[0].endswith("contextlib.py"):
            continue
        for caller, edge in callers.items():
            if caller in ours:
                on_behalf += edge[3] if key[2] == "helper" else edge[2]
    entries = []
    for key, (_cc, ncalls, tottime, cumtime, _callers) in raw.items():
        path, line, name = key
        entries.append(
            {
                "function": f"{_where(path)}:{line}({name})" if line else name,
                "ncalls": ncalls,
                "tottime": tottime,
                "cumtime": cumtime,
                "ours": key in ours,
            }
        )
    total: float = stats.total_tt  # type: ignore[attr-defined]
    mine = [e for e in entries if e["ours"]]
    return {
        "row": row,
        "scenario": scenario.key,
        "rate_under_profile": sample.rate,
        "total_seconds": total,
        "tls_adapter_share": sum(e["tottime"] for e in mine) / total if total else 0.0,
        "tls_adapter_share_with_contextlib": (
            (sum(e["tottime"] for e in mine) + on_behalf) / total if total else 0.0
        ),
        "top_tottime": sorted(entries, key=lambda e: -e["tottime"])[:15],
        "tls_adapter_cumtime": sorted(mine, key=lambda e: -e["cumtime"])[:12],
    }


def _shown(path: Path) -> str:
    """*path* relative to the checkout when it is inside it."""
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


# -- the whole run -----------------------------------------------------------------------------
def _machine(nginx: Nginx, pinning: Any, backends: tuple[str, ...]) -> dict[str, Any]:
    import requests
    import urllib3

    from tls_adapter import get_backend

    info: dict[str, Any] = {
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "ssl": ssl.OPENSSL_VERSION,
        "nginx": nginx.version(),
        "urllib3": urllib3.__version__,  # type: ignore[attr-defined]
        "requests": requests.__version__,
        "pinning": pinning.how,
    }
    for key, module_name in (("truststore", "truststore"), ("pyopenssl", "OpenSSL")):
        try:
            info[key] = getattr(__import__(module_name), "__version__", "?")
        except ImportError:
            info[key] = "not installed"
    info["backends"] = [
        {
            "name": b,
            "library": get_backend(b).capabilities.library,
            "tls_versions": [v.value for v in get_backend(b).capabilities.tls_versions],
            "system_trust": get_backend(b).capabilities.system_trust,
            "native_socket": get_backend(b).capabilities.native_socket,
        }
        for b in backends
    ]
    return info


def run(options: Options, progress: Callable[[str], None] = _log) -> dict[str, Any]:
    """Measure everything; write the JSON and Markdown reports; return the data."""
    from . import _charts, _report

    started = time.perf_counter()
    reason = _charts.missing()
    if reason is not None and not options.quick:
        # A long run must end with its charts: the report links them.
        raise SystemExit(f"cannot draw the charts: {reason} (or run `nox -s bench`)")
    workdir = Path(tempfile.mkdtemp(prefix="tls-adapter-bench-"))
    try:
        pinning = pin_client()
        pki = make_pki(workdir / "pki")
        environment = prepare_environment(pki)
        binary = ensure_nginx(options.install_nginx)
        if binary is None:
            raise SystemExit(
                "nginx is not installed (Debian: apt-get install nginx-light); run as root "
                "to have the benchmark install it"
            )
        import tls_adapter

        available = tls_adapter.available_backends()
        backends = tuple(b for b in (options.backends or available) if b in available)
        configs = configurations(backends)
        resuming = resumption_configurations(backends)
        by_key = {c.key: c for c in [*configs, *resuming]}
        plan = scenarios(configs, backends)
        resume_plan = resumption_scenarios()
        nginx = Nginx(binary, workdir / "nginx", pki, pinning.server_cpu)
        data: dict[str, Any] = {
            "schema": 1,
            "generated": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "options": {
                k: (_shown(v) if isinstance(v, Path) else v) for k, v in asdict(options).items()
            },
            "environment": {
                k: v.replace(str(workdir), "<run directory>") for k, v in environment.items()
            },
            "pki": {
                "bundle_certificates": pki.bundle_certificates,
                "system_source": pki.system_source,
                "key_type": "ECDSA P-256 (trustme)",
            },
            "configs": [asdict(c) for c in configs],
            "scenarios": [asdict(s) for s in plan],
            "results": {},
            "resumption": {
                "configs": [asdict(c) for c in resuming],
                "scenarios": [asdict(s) for s in resume_plan],
                "capable": [c.backend for c in resuming],
            },
        }
        with nginx.running():
            data["machine"] = _machine(nginx, pinning, backends)
            setting = Setting(pki, nginx, by_key)
            progress(f"{len(configs)} configurations, backends: {', '.join(backends)}")
            checks: dict[str, Any] = {}
            for config in configs:
                try:
                    checks[config.key] = _check(config, setting, options.check_requests)
                except ImportError as e:  # a peer's package is not installed here
                    checks[config.key] = {"na": f"not installed here: {e}"}
                except Exception as e:
                    checks[config.key] = {"error": f"{type(e).__name__}: {e}"}
            data["checks"] = checks
            broken = {key for key, check in checks.items() if "error" in check or "na" in check}
            t0 = time.perf_counter()
            resume_pairs = _report.resumption_pairs([c.backend or "" for c in resuming])
            confirmation = _confirm_resumption(resume_plan, setting, resume_pairs)
            data["resumption"]["confirmation"] = confirmation
            for name, entry in confirmation.items():
                if "error" in entry:  # not OpenSSL's (that stops the run): reported
                    progress(f"NOT CONFIRMED, not measured: {name}: {entry['error']}")
            progress(f"session resumption checked: {time.perf_counter() - t0:.1f} s")
            for scenario in plan:
                t0 = time.perf_counter()
                rows = [r for r in scenario.configs if r.split("@", 1)[0] not in broken]
                data["results"][scenario.key] = _run_scenario(scenario, rows, setting, options)
                for row in scenario.configs:
                    if row not in rows:
                        check = checks[row.split("@", 1)[0]]
                        data["results"][scenario.key][row] = (
                            {"samples": [], "na": check["na"]}
                            if "na" in check
                            else {
                                "samples": [],
                                "error": f"failed the connection check: {check['error']}",
                            }
                        )
                progress(f"{scenario.key}: {time.perf_counter() - t0:.1f} s")
            t0 = time.perf_counter()
            data["paired"] = {}
            if "openssl" in backends:  # the targets (and context rows) are OpenSSL's
                _paired(_report.paired_targets(), plan, setting, options, broken, data["paired"])
            progress(f"paired (OpenSSL targets): {time.perf_counter() - t0:.1f} s")
            t0 = time.perf_counter()
            parity = _report.parity_pairs(backends)
            _paired(parity, plan, setting, options, broken, data["paired"])
            progress(f"paired (speed parity): {time.perf_counter() - t0:.1f} s")
            t0 = time.perf_counter()
            resumption: dict[str, Any] = {}
            for pair in resume_pairs:
                problem = confirmation.get(_report.pair_name(*pair), {})
                if "error" in problem or "na" in problem:
                    resumption[_report.pair_name(*pair)] = problem
            _paired(resume_pairs, resume_plan, setting, options, broken, resumption)
            data["resumption"]["paired"] = resumption
            progress(f"paired (session resumption): {time.perf_counter() - t0:.1f} s")
            t0 = time.perf_counter()
            data["ceiling"] = _ceiling(setting, options)
            progress(f"ceiling: {time.perf_counter() - t0:.1f} s")
            t0 = time.perf_counter()
            data["rss"] = _rss(setting, options, backends)
            progress(f"rss: {time.perf_counter() - t0:.1f} s")
            # The verdicts are computed from the numbers the reports show (rounded).
            for part in ("results", "paired", "ceiling", "rss", "resumption"):
                data[part] = _report.compact(data[part])
            data["targets"] = _report.evaluate(data, backends)
            data["parity"] = _report.evaluate_parity(data, backends)
            data["resumption_targets"] = _report.evaluate_resumption(data, backends)
            t0 = time.perf_counter()
            profiles: dict[str, Any] = {}
            scenario_by_key = {s.key: s for s in [*plan, *resume_plan]}
            # The OpenSSL targets' misses first, then OpenSSL's session-resumption misses,
            # then the parity targets': each backend's largest miss, then each one's second
            # largest, ...; then the OpenSSL targets missed on the other backends.
            official = [t for t in data["targets"] if t["official"]]
            rank: dict[int, int] = {}
            for backend in backends:
                mine = [t for t in data["parity"] if t["backend"] == backend]
                mine = [t for t in mine if t["status"] == "MISS"]
                for i, t in enumerate(sorted(mine, key=lambda t: -(t["shortfall"] or 0.0))):
                    rank[id(t)] = i
            parity_misses = sorted(
                (t for t in data["parity"] if id(t) in rank),
                key=lambda t: (rank[id(t)], -(t["shortfall"] or 0.0)),
            )
            rest = [t for t in data["targets"] if not t["official"]]
            # The session-resumption misses (OpenSSL's, the only ones with a verdict)
            # come on top of the others' allowance.
            resumed = [t for t in data["resumption_targets"] if t["status"] == "MISS"]
            allowance = options.max_profiles
            for target in [*official, *resumed, *parity_misses, *rest]:
                if target["status"] != "MISS" or target["scenario"] not in scenario_by_key:
                    continue
                key = (target["scenario"], target["subject"])
                name = f"{key[0]}/{key[1]}"
                if name in profiles:
                    continue
                if not any(target is t for t in resumed):
                    if allowance <= 0:
                        continue
                    allowance -= 1
                try:
                    profiles[name] = profile_row(
                        scenario_by_key[key[0]], key[1], setting, options.profile_seconds
                    )
                except Exception as e:
                    profiles[name] = {"error": f"{type(e).__name__}: {e}"}
            data["profiles"] = profiles
            progress(f"profiles: {time.perf_counter() - t0:.1f} s")
        data["wall_seconds"] = time.perf_counter() - started
        _report.write(data, options.json_path, options.markdown_path, charts_directory(options))
        progress(
            f"done in {data['wall_seconds']:.0f} s: {options.markdown_path}, {options.json_path}"
        )
        return data
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
