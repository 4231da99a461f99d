"""Turns per second and commit -> first audio delta latency of the reference server.

Run on demand (not in CI): `.venv/bin/python benchmarks/turns.py --sessions 1 10 100`.
Each session is a Sender and a Receiver on two sockets running `--turns` chain turns of the
fixture clip back to back; all sessions run at once against one server in this process.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from aiohttp import web

from conformance.engine.transcript import Transcript
from conformance.fixtures import clip
from conformance.hosting import running
from conformance.protocols.metahuman.reference.server import ReferenceServer
from conformance.transports.socketio import SocketIOPeer
from tests.conftest import chunks, session_update


async def _session(url: str, turns: int) -> list[float]:
    transcript = Transcript()
    sender = SocketIOPeer(url, name="sender", transcript=transcript, auth={"role": "sender"})
    await sender.connect(30)
    await sender.emit("session.update", session_update("chain"))
    updated = await sender.wait_for("session.updated", 30)
    receiver = SocketIOPeer(
        url,
        name="receiver",
        transcript=transcript,
        auth={"role": "receiver", "sessionId": updated.payload["sessionId"]},
    )
    await receiver.connect(30)
    latencies = []
    speech = chunks(clip("hello_weather").files["mp3"].read_bytes(), 4096)
    for _ in range(turns):
        after = len(receiver.received)
        for chunk in speech:
            await sender.emit("input.buffer.append", chunk)
        committed = time.monotonic()
        await sender.emit("input.buffer.commit")
        await receiver.wait_for("response.audio.delta", 120, after=after)
        latencies.append(time.monotonic() - committed)
        await receiver.wait_for(
            lambda e: e.event == "response.audio.delta" and e.payload["done"], 120, after=after
        )
    await sender.close()
    await receiver.close()
    return latencies


async def _run(sessions: int, turns: int) -> None:
    server = ReferenceServer()
    async with running(server.attach(web.Application())) as url:
        started = time.monotonic()
        results = await asyncio.gather(*(_session(url, turns) for _ in range(sessions)))
        elapsed = time.monotonic() - started
    latencies = sorted(x for r in results for x in r)
    p99 = latencies[min(len(latencies) - 1, round(0.99 * (len(latencies) - 1)))]
    print(
        f"sessions={sessions:<4} turns={len(latencies):<5} wall={elapsed:6.2f}s "
        f"turns/s={len(latencies) / elapsed:6.1f} "
        f"commit->first audio p50={1000 * statistics.median(latencies):7.1f}ms "
        f"p99={1000 * p99:7.1f}ms",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=int, nargs="+", default=[1, 10, 100])
    parser.add_argument("--turns", type=int, default=5, help="turns per session")
    args = parser.parse_args()
    for sessions in args.sessions:
        asyncio.run(_run(sessions, args.turns))


if __name__ == "__main__":
    main()
