"""The `conformance` command: argument parsing and exit codes only.

Exit codes: 0 success; 2 a usage error (a bad flag, an unknown fault, a port in use), always as
one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import shlex
import signal
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from conformance import __version__, protocols
from conformance.engine.context import Env, Recorder
from conformance.engine.model import HarnessError
from conformance.fuzz.findings import Finding, load_finding
from conformance.hosting import serve_until_stopped
from conformance.target import Target, TargetError

__all__ = ["main"]

USAGE_ERROR = 2
INTERRUPTED = 130  # as a shell reports a command ended by Ctrl-C


class UsageError(Exception):
    """A bad command line; reported as one line and exit code 2."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="conformance",
        description="Conformance test suite for real-time voice-AI chat servers.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser(
        "serve",
        help="run the reference server (offline, deterministic providers)",
        description="Run a protocol's reference server until interrupted. Each protocol option "
        "applies to the protocols it names; given to another, it is a usage error.",
    )
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default %(default)s)"
    )
    serve.add_argument(
        "--port", type=int, default=8080, help="port; 0 picks a free one (default %(default)s)"
    )
    serve.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="NAME",
        help="inject a defect (repeatable); see --list-faults",
    )
    serve.add_argument("--list-faults", action="store_true", help="list the faults and exit")
    serve.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="NAME",
        help="serve a legitimate other reading of an open point (repeatable); see --list-variants",
    )
    serve.add_argument("--list-variants", action="store_true", help="list the variants and exit")
    serve.add_argument(
        "--protocol",
        default="metahuman",
        choices=protocols.names(),
        help="the protocol served (default %(default)s)",
    )
    serve.add_argument(
        "--log-level", default="warning", choices=["debug", "info", "warning", "error"]
    )
    _add_serve_options(serve)

    run = commands.add_parser(
        "run",
        help="run the conformance suite against a server (default: the embedded one)",
        description="Run the case catalogue against a server and write the reports. Arguments "
        "after `--` go to pytest (for example `-- -x --lf`).",
    )
    run.add_argument("--url", help="the server under test; none: start the embedded server")
    run.add_argument("--protocol", help=f"one of {', '.join(protocols.names())}")
    run.add_argument("--profile", type=Path, help="the target's profile (YAML); default: built-in")
    run.add_argument("--case", action="append", default=[], metavar="GLOB", help="only these")
    run.add_argument("--exclude", action="append", default=[], metavar="GLOB", help="skip these")
    run.add_argument("--strict", action="store_true", help="a broken SHOULD fails the run too")
    run.add_argument("--report-dir", type=Path, default=Path("reports"), help="default %(default)s")
    run.add_argument(
        "--max-time",
        type=float,
        default=900.0,
        metavar="S",
        help="the run's budget in seconds; cases unfinished then are ERROR (default %(default)g)",
    )
    run.add_argument("pytest_args", nargs="*", help=argparse.SUPPRESS)

    fuzzing = commands.add_parser(
        "fuzz",
        help="fuzz a server with generated and malformed messages (default: the embedded one)",
        description="Run the fuzz catalogue: valid messages generated from the JSON Schemas, "
        "malformed ones, and a state machine over the protocol. Findings are shrunk and saved "
        "in REPORT_DIR/findings/ for `conformance replay`.",
    )
    fuzzing.add_argument("--url", help="the server under test; none: start the embedded server")
    fuzzing.add_argument("--protocol", help=f"one of {', '.join(protocols.names())}")
    fuzzing.add_argument("--profile", type=Path, help="the target's profile (YAML)")
    fuzzing.add_argument(
        "--report-dir", type=Path, default=Path("reports"), help="default %(default)s"
    )
    fuzzing.add_argument("--case", action="append", default=[], metavar="GLOB", help="only these")
    fuzzing.add_argument(
        "--exclude", action="append", default=[], metavar="GLOB", help="skip these"
    )
    fuzzing.add_argument("--seed", type=int, default=0, help="the same seed, the same examples")
    fuzzing.add_argument("--max-examples", type=int, default=100, help="default %(default)s")
    fuzzing.add_argument(
        "--max-time", type=float, default=60.0, help="seconds (default %(default)s)"
    )
    fuzzing.add_argument("pytest_args", nargs="*", help=argparse.SUPPRESS)

    replaying = commands.add_parser(
        "replay", help="rerun a saved fuzz finding: FIXED, or still FAILED"
    )
    replaying.add_argument("finding", type=Path, help="a findings/*.json file")
    replaying.add_argument("--url", help="the server (default: the finding's URL)")
    replaying.add_argument("--profile", type=Path, help="the target's profile")

    loading = commands.add_parser(
        "load",
        help="run many concurrent sessions, every turn judged, against latency SLOs",
        description="Run N concurrent scripted sessions (default: against the embedded "
        "server), judge every turn with the catalogue's per-turn cases, and write load.json, "
        "load-junit.xml and load.html. Exit 1 on a broken MUST clause or a breached SLO.",
    )
    loading.add_argument("--url", help="the server under load; none: start the embedded server")
    loading.add_argument("--protocol", help=f"one of {', '.join(protocols.names())}")
    loading.add_argument("--profile", type=Path, help="the target's profile (YAML, with `slo`)")
    loading.add_argument("--sessions", type=int, default=10, help="default %(default)s")
    loading.add_argument(
        "--spawn-rate",
        type=float,
        default=10.0,
        help="sessions started a second (default %(default)g)",
    )
    length = loading.add_mutually_exclusive_group()
    length.add_argument("--duration", type=float, metavar="S", help="seconds (default 60)")
    length.add_argument("--turns", type=int, metavar="T", help="turns per session, then stop")
    loading.add_argument(
        "--wait", type=float, default=0.0, metavar="S", help="a session's pause between turns"
    )
    loading.add_argument(
        "--report-dir", type=Path, default=Path("reports"), help="default %(default)s"
    )

    listing = commands.add_parser("list", help="print the case catalogue without running it")
    listing.add_argument("--protocol", default="metahuman", choices=protocols.names())
    return parser


def _serve_options_declared() -> dict[str, list[tuple[str, protocols.ServeOption]]]:
    """Each serve flag any plug-in declares, with the protocols declaring it (in name order)."""
    declared: dict[str, list[tuple[str, protocols.ServeOption]]] = {}
    for name in protocols.names():
        for option in protocols.plugin(name).serve_options:
            declared.setdefault(option.flag, []).append((name, option))
    return declared


def _add_serve_options(serve: argparse.ArgumentParser) -> None:
    group = serve.add_argument_group("protocol options")
    # SUPPRESS: a flag the user did not type stays out of the namespace, so it is neither held
    # against another protocol nor passed on (the plug-in applies its own default).
    for flag, owners in _serve_options_declared().items():
        choices = {option.choices for _, option in owners}
        # one set for all its protocols: argparse checks it (and --help shows it); otherwise
        # the chosen protocol's own is checked once it is known (_serve_options)
        shared = next(iter(choices)) if len(choices) == 1 else ()
        said = "; ".join(
            f"{name}: {option.help}"
            + (f" (default {option.default})" if option.default is not None else "")
            for name, option in owners
        )
        group.add_argument(
            flag,
            default=argparse.SUPPRESS,
            choices=shared or None,
            help=said.replace("%", "%%"),
        )


def _serve_options(args: argparse.Namespace) -> dict[str, Any]:
    """The reference's options: the flags typed, each one the chosen protocol declares (else a
    UsageError naming its own), and the variants."""
    own = {option.flag: option for option in protocols.plugin(args.protocol).serve_options}
    options: dict[str, Any] = {}
    for flag, owners in _serve_options_declared().items():
        dest = owners[0][1].dest
        if dest not in vars(args):
            continue
        if flag not in own:
            its = f"its options: {', '.join(own)}" if own else "it takes none"
            raise UsageError(f"{flag} does not apply to --protocol {args.protocol} ({its})")
        value = getattr(args, dest)
        if own[flag].choices and value not in own[flag].choices:
            raise UsageError(
                f"{flag} {value!r} is not one of {', '.join(own[flag].choices)} "
                f"(--protocol {args.protocol})"
            )
        options[dest] = value
    options["variants"] = args.variant
    return options


def _list_faults(protocol: str) -> int:
    faults = protocols.plugin(protocol).faults()
    width = max(len(name) for name in faults)
    for fault in faults.values():
        print(f"{fault.name:<{width}}  {fault.summary}")
        print(f"{'':<{width}}  breaks: {fault.clause} ({fault.source})")
    return 0


def _list_variants(protocol: str) -> int:
    variants = protocols.plugin(protocol).variants()
    width = max((len(name) for name in variants), default=0)
    for variant in variants.values():
        print(f"{variant.name:<{width}}  {variant.summary}")
        print(f"{'':<{width}}  reads: {variant.open_point}")
    return 0


def _serve(args: argparse.Namespace) -> int:
    options = _serve_options(args)
    if args.list_faults:
        return _list_faults(args.protocol)
    if args.list_variants:
        return _list_variants(args.protocol)
    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    plugin = protocols.plugin(args.protocol)
    try:
        app = plugin.reference_app(args.fault, options)
    except KeyError as exc:
        raise UsageError(exc.args[0]) from None

    def ready(url: str) -> None:
        injected = f" (faults: {', '.join(args.fault)})" if args.fault else ""
        injected += f" (variants: {', '.join(args.variant)})" if args.variant else ""
        print(f"{plugin.title} reference server listening on {url}{injected}", flush=True)

    try:
        asyncio.run(serve_until_stopped(app, args.host, args.port, ready))
    except OSError as exc:
        raise UsageError(
            f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}"
        ) from None
    return 0


def _run(args: argparse.Namespace) -> int:
    """`conformance run` and `conformance fuzz`: the target's catalogue through pytest."""
    from conformance.pytest_plugin import RunOptions, run_catalogue

    fuzzing = args.command == "fuzz"
    rerun = ["conformance", args.command]
    for flag, value in (
        ("--url", args.url),
        ("--protocol", args.protocol),
        ("--profile", args.profile),
    ):
        if value:
            rerun += [flag, str(value)]
    if args.report_dir != Path("reports"):
        rerun += ["--report-dir", str(args.report_dir)]
    if fuzzing:
        rerun += ["--seed", str(args.seed)]
    options = RunOptions(
        cases=tuple(args.case),
        exclude=tuple(args.exclude),
        strict=getattr(args, "strict", False),
        fuzz=fuzzing,
        seed=args.seed if fuzzing else 0,
        max_examples=args.max_examples if fuzzing else None,
        max_time=args.max_time if fuzzing else None,
        budget=None if fuzzing else args.max_time,
        command=shlex.join(rerun),
    )
    with _target(args) as target:
        code = run_catalogue(target, options, args.pytest_args)
    if code == pytest.ExitCode.NO_TESTS_COLLECTED:
        raise UsageError("no case matches --case/--exclude; `conformance list` shows the ids")
    if code in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        return int(code)
    if code == pytest.ExitCode.INTERRUPTED:  # Ctrl-C: the reports are written all the same
        return INTERRUPTED
    return USAGE_ERROR  # usage error (already printed by pytest), interrupted, internal error


def _target(args: argparse.Namespace) -> Target:
    """The target of --url/--protocol/--profile/--report-dir; a bad one is a usage error."""
    try:
        return Target.resolve(
            url=args.url, protocol=args.protocol, profile=args.profile, report_dir=args.report_dir
        )
    except TargetError as exc:
        raise UsageError(str(exc)) from None


def _replay(args: argparse.Namespace) -> int:
    try:
        finding = load_finding(args.finding)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    try:
        target = Target.resolve(
            url=args.url or finding.url,
            protocol=finding.protocol,
            profile=args.profile,
            report_dir=Path(tempfile.mkdtemp()),
            embedded=False,  # a finding is replayed against the server it names, or --url
        )
    except TargetError as exc:
        raise UsageError(f"cannot replay {args.finding}: {exc}") from None
    env = Env(
        url=target.url, profile=target.profile, recorder=Recorder(), report_dir=target.report_dir
    )
    try:
        problem = asyncio.run(_replayed(target, finding, env))
    except HarnessError as exc:  # a TransportError too
        raise UsageError(f"cannot replay against {target.url}: {exc}") from None
    if problem is None:
        print(f"FIXED {finding.target}: {finding.oracle} now holds against {target.url}")
        return 0
    print(f"FAILED {finding.target} (still): {problem}")
    return 1


async def _replayed(target: Target, finding: Finding, env: Env) -> str | None:
    return await target.plugin.replay(finding, env)


def _load(args: argparse.Namespace) -> int:
    from conformance.load.command import LoadRequest, LoadUsageError, run_load
    from conformance.load.runner import LoadOptions

    for flag, value, least in (
        ("--sessions", args.sessions, 1),
        ("--spawn-rate", args.spawn_rate, 1e-9),
        ("--duration", args.duration, 1e-9),
        ("--turns", args.turns, 1),
        ("--wait", args.wait, 0),
    ):
        if value is not None and value < least:
            raise UsageError(f"{flag} must be {'positive' if least else 'at least 0'}, not {value}")
    rerun = ["conformance", "load"]
    for flag, value in (
        ("--url", args.url),
        ("--protocol", args.protocol),
        ("--profile", args.profile),
        ("--sessions", args.sessions),
        ("--spawn-rate", args.spawn_rate),
        ("--duration", args.duration),
        ("--turns", args.turns),
        ("--wait", args.wait or None),
    ):
        if value is not None:
            rerun += [flag, f"{value:g}" if isinstance(value, float) else str(value)]
    request = LoadRequest(
        url=args.url,
        protocol=args.protocol,
        profile=args.profile,
        options=LoadOptions(
            sessions=args.sessions,
            spawn_rate=args.spawn_rate,
            duration_s=None if args.turns else (args.duration or 60.0),
            turns=args.turns,
            wait_s=args.wait,
        ),
        report_dir=args.report_dir,
        command=shlex.join(rerun),
    )
    try:
        return run_load(request)
    except LoadUsageError as exc:
        raise UsageError(str(exc)) from None


def _list(args: argparse.Namespace) -> int:
    for case in protocols.plugin(args.protocol).catalogue():
        print(f"{case.id:<38} {case.level.value:<6} {case.area:<22} {case.clause}")
    return 0


def _stop_like_ctrl_c() -> None:
    """SIGTERM (what a CI runner sends on its timeout) and SIGHUP (a closed terminal) end a run
    as Ctrl-C does: unfinished cases ERROR, every report written, exit 130."""

    def interrupt(signum: int, frame: object) -> None:
        signal.raise_signal(signal.SIGINT)

    for name in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), interrupt)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command in ("run", "fuzz", "load"):
        _stop_like_ctrl_c()
    try:
        if args.command == "serve":
            return _serve(args)
        if args.command in ("run", "fuzz"):
            return _run(args)
        if args.command == "replay":
            return _replay(args)
        if args.command == "load":
            return _load(args)
        if args.command == "list":
            return _list(args)
    except UsageError as exc:
        print(f"conformance: error: {exc}", file=sys.stderr)
        return USAGE_ERROR
    except BrokenPipeError:  # `conformance serve --list-faults | head`: the reader left
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    raise AssertionError(f"unhandled command {args.command}")  # argparse requires one
