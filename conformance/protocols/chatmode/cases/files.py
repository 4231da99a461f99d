"""The answer's audio: the `fileUrl` of an answer serves audio that decodes and fits its text."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from conformance import audio
from conformance.engine.context import CaseContext
from conformance.engine.model import Level
from conformance.protocols.chatmode.cases.common import (
    CATALOGUE,
    CLIENT,
    answered,
    expect_status,
    text_turn,
)
from conformance.transports.http import HttpAnswer

AREA = CATALOGUE.area("answer audio", source=CLIENT)


async def _file(ctx: CaseContext, *, fetch: bool = False) -> tuple[Mapping[str, Any], HttpAnswer]:
    """The answer and what its fileUrl served; `fetch`: this case judges the fetch itself."""
    t = await text_turn(ctx)
    if t.answer is None or t.answer.event != "incoming":
        ctx.blocked("the text message got no incoming answer (CM-TXT-001)")
    payload = answered(ctx, t)
    if not payload.get("fileUrl"):
        ctx.unsupported("the answer has no fileUrl (it is optional)")
    if t.file_error and not fetch:
        ctx.blocked("the fileUrl could not be fetched (CM-AUD-001)")
    if t.file_error:
        ctx.fail(
            f"the fileUrl could not be fetched: {t.file_error}",
            expected="an HTTP answer serving the answer's audio",
            observed=t.file_error,
        )
    if t.file is None:
        ctx.harness("the fileUrl was not fetched")
    return payload, t.file


@AREA.case(
    "CM-AUD-001",
    title="fileUrl is reachable",
    clause="The answer's fileUrl serves the answer's audio (HTTP 200).",
    level=Level.MUST,
)
async def file_reachable(ctx: CaseContext) -> None:
    payload, file = await _file(ctx, fetch=True)
    url = str(payload.get("fileUrl"))
    expect_status(ctx, file, {200}, f"GET {url}")
    if not urlsplit(url).scheme:
        # The documents do not say whether fileUrl is absolute; a relative one is fetched
        # from the server's own URL, as its users' players would.
        ctx.note(f"fileUrl {url!r} is relative; fetched from the server's URL")


@AREA.case(
    "CM-AUD-002",
    title="fileUrl is served as what it is",
    clause="The fileUrl's Content-Type is audio/* or video/*, and the bytes are that kind of file.",
    level=Level.MUST,
)
async def file_type(ctx: CaseContext) -> None:
    _, file = await _file(ctx)
    ctx.check(
        file.content_type.startswith(("audio/", "video/")),
        f"served as {file.content_type}",
        expected="audio/* or video/*",
        observed=file.content_type,
    )
    ctx.check(
        audio.sniff(file.body) is not None,
        "the bytes are no audio container",
        expected="mp3, wav, ogg, webm or flac",
        observed=file.body[:12].hex(),
    )


@AREA.case(
    "CM-AUD-003",
    title="The answer's audio decodes",
    clause="The audio at fileUrl decodes.",
    level=Level.MUST,
)
async def file_decodes(ctx: CaseContext) -> None:
    _, file = await _file(ctx)
    try:
        audio.decode(file.body)
    except audio.AudioDecodeError as exc:
        ctx.fail(
            f"the audio does not decode: {exc}",
            expected="audio that decodes",
            observed=f"{len(file.body)} bytes",
        )


@AREA.case(
    "CM-AUD-004",
    title="The answer's audio is long enough",
    clause="The audio lasts at least a second per 40 characters of the answer's text.",
    level=Level.SHOULD,
)
async def file_length(ctx: CaseContext) -> None:
    payload, file = await _file(ctx)
    try:
        ms = audio.duration_ms(audio.decode(file.body))
    except audio.AudioDecodeError:
        ctx.unsupported("the audio does not decode (see CM-AUD-003)")
    chars = len(str(payload.get("content", "")))
    ctx.check(
        ms >= 1000 * chars / 40,
        f"{ms} ms of audio for {chars} characters",
        expected=f"at least {1000 * chars / 40:.0f} ms",
        observed=f"{ms} ms",
    )
