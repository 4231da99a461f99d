"""HTTP exchanges recorded into a case's transcript (token flows, file downloads)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from conformance.engine.transcript import Direction, Transcript
from conformance.transports.base import TransportError

__all__ = ["HttpAnswer", "request"]


@dataclass(frozen=True, slots=True, kw_only=True)
class HttpAnswer:
    status: int
    content_type: str
    body: bytes

    def json(self) -> Any:
        """The body as JSON, or None when it is not JSON."""
        try:
            return json.loads(self.body)
        except (json.JSONDecodeError, UnicodeDecodeError):
            return None


async def request(
    method: str,
    url: str,
    *,
    transcript: Transcript,
    name: str = "http",
    json_body: Any = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = 5.0,
) -> HttpAnswer:
    """One request; the server's answer, whatever its status. TransportError if none came."""
    label = f"{method} {urlsplit(url).path or '/'}"
    transcript.record(name, Direction.SENT, label, (json_body,) if json_body is not None else ())
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session,
            session.request(method, url, json=json_body, headers=dict(headers or {})) as answer,
        ):
            body = await answer.read()
            result = HttpAnswer(status=answer.status, content_type=answer.content_type, body=body)
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        raise TransportError(f"{method} {url}: {exc}") from None
    shown = result.json() if result.content_type == "application/json" else f"<{len(body)} bytes>"
    transcript.record(name, Direction.RECEIVED, f"HTTP {result.status}", (shown,))
    return result
