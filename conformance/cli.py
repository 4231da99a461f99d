"""The `conformance` command: argument parsing and exit codes only.

Exit codes: 0 success; 2 a usage error (a bad flag, an unknown fault, a port in use), always as
one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence

from aiohttp import web

from conformance import __version__, audio
from conformance.hosting import serve_until_stopped
from conformance.protocols.metahuman.reference.faults import FAULTS, ActiveFaults
from conformance.protocols.metahuman.reference.providers import OfflineTextToSpeech, Providers
from conformance.protocols.metahuman.reference.server import ReferenceServer

__all__ = ["main"]

USAGE_ERROR = 2


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
        description="Run the MetaHuman AI Chat reference server until interrupted.",
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
    serve.add_argument("--path", default="socket.io", help="Socket.IO path (default %(default)s)")
    serve.add_argument("--namespace", default="/", help="Socket.IO namespace (default %(default)s)")
    serve.add_argument("--token", help="require this `token` in the handshake auth payload")
    serve.add_argument(
        "--tts-format",
        default="mp3",
        choices=audio.FORMATS,
        help="audio format of response.audio.delta (default %(default)s)",
    )
    serve.add_argument(
        "--log-level", default="warning", choices=["debug", "info", "warning", "error"]
    )
    return parser


def _list_faults() -> int:
    width = max(len(name) for name in FAULTS)
    for fault in FAULTS.values():
        print(f"{fault.name:<{width}}  {fault.summary}")
        print(f"{'':<{width}}  breaks: {fault.clause} ({fault.source})")
    return 0


def _serve(args: argparse.Namespace) -> int:
    if args.list_faults:
        return _list_faults()
    try:
        faults = ActiveFaults(args.fault)
    except KeyError as exc:
        raise UsageError(exc.args[0]) from None
    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    server = ReferenceServer(
        faults=faults,
        providers=Providers(tts=OfflineTextToSpeech(output_format=args.tts_format)),
        token=args.token,
        path=args.path,
        namespace=args.namespace,
    )
    app = server.attach(web.Application())

    def ready(url: str) -> None:
        injected = f"; faults: {', '.join(args.fault)}" if args.fault else ""
        print(
            f"MetaHuman reference server listening on {url} "
            f"(path /{server.path}, namespace {server.namespace}{injected})",
            flush=True,
        )

    try:
        asyncio.run(serve_until_stopped(app, args.host, args.port, ready))
    except OSError as exc:
        raise UsageError(
            f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}"
        ) from None
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "serve":
            return _serve(args)
    except UsageError as exc:
        print(f"conformance: error: {exc}", file=sys.stderr)
        return USAGE_ERROR
    except BrokenPipeError:  # `conformance serve --list-faults | head`: the reader left
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    raise AssertionError(f"unhandled command {args.command}")  # argparse requires one
