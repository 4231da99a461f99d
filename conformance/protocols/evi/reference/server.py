"""The reference EVI chat server: the socket `/v0/evi/chat` and `POST /v0/evi/configs` on aiohttp.

It implements PROTOCOLS.md §3 with the [default] readings that schemas/evi/asyncapi.yaml
writes, offline and deterministic (providers.py), and the faults and variants of faults.py and
variants.py on demand. Each client message is handled in the order it arrived; the assistant's
turns run as tasks of their chat (so that the user can interrupt, pause, or answer a tool call
meanwhile), one at a time. Any exception in a handler or a turn becomes an `error` message and
the socket stays open; every task and timer of a chat ends with its socket.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Final

from aiohttp import WSCloseCode, WSMsgType, web

from conformance import audio
from conformance.protocols.evi.events import Client, Server
from conformance.protocols.evi.reference import config, providers
from conformance.protocols.evi.reference import faults as f
from conformance.protocols.evi.reference import variants as v
from conformance.protocols.evi.reference.config import ACCESS_TOKEN, API_KEY, AudioFormat, Timeouts
from conformance.protocols.evi.reference.errors import (
    CHAT_GROUP_NOT_FOUND,
    CONFIG_NOT_FOUND,
    INACTIVITY_TIMEOUT,
    INTERNAL_ERROR,
    INVALID_AUDIO,
    INVALID_CONFIG,
    INVALID_JSON,
    MAX_DURATION_TIMEOUT,
    UNAUTHORIZED,
    UNKNOWN_TOOL_CALL,
    ErrorKind,
    EviError,
)
from conformance.protocols.evi.reference.session import (
    Chat,
    PendingCall,
    Reply,
    ReplyKind,
    Store,
    Utterance,
)

__all__ = ["EviServer", "reference_app"]

log = logging.getLogger("conformance.reference.evi")

CHAT_PATH: Final = "/v0/evi/chat"
CONFIGS_PATH: Final = "/v0/evi/configs"
# About 10x real time: a turn stays interruptible and still ends quickly.
PACE: Final = 10.0
CHUNK_MS: Final = 100
# [default]: the user's utterance ends when the input pauses this long (asyncapi.yaml).
INPUT_PAUSE_S: Final = 0.7
# Base64 of a few minutes of audio in one message; aiohttp's default (4 MiB) is smaller.
_MAX_MESSAGE_BYTES: Final = 32 << 20
# Client messages that are the user's or the assistant's input: each restarts inactivity.
_ACTIVITY: Final = frozenset(
    {
        Client.AUDIO_INPUT,
        Client.USER_INPUT,
        Client.ASSISTANT_INPUT,
        Client.TOOL_RESPONSE,
        Client.TOOL_ERROR,
    }
)

Handler = Callable[[Chat, dict[str, Any]], Awaitable[None]]


class EviServer:
    """One server: its credentials, its store, its open chats, its faults and variants."""

    def __init__(
        self,
        faults: f.ActiveFaults | None = None,
        variants: v.ActiveVariants | None = None,
        *,
        api_key: str = API_KEY,
        access_token: str = ACCESS_TOKEN,
        pace: float = PACE,
    ) -> None:
        self.faults = faults or f.ActiveFaults(f.FAULTS)
        self.variants = variants or v.ActiveVariants(v.VARIANTS)
        self.api_key = api_key
        self.access_token = access_token
        self.pace = pace
        self.store = Store()
        self.chats: set[Chat] = set()
        # Timeouts' closing tasks: not tasks of their chat, since closing cancels those.
        self._ending: set[asyncio.Task[None]] = set()
        self._handlers: dict[Client, Handler] = {
            Client.SESSION_SETTINGS: self._session_settings,
            Client.AUDIO_INPUT: self._audio_input,
            Client.USER_INPUT: self._user_input,
            Client.ASSISTANT_INPUT: self._assistant_input,
            Client.PAUSE_ASSISTANT_MESSAGE: self._pause,
            Client.RESUME_ASSISTANT_MESSAGE: self._resume,
            Client.TOOL_RESPONSE: self._tool_response,
            Client.TOOL_ERROR: self._tool_error,
        }

    def app(self, *, path: str = CHAT_PATH, configs_path: str = CONFIGS_PATH) -> web.Application:
        app = web.Application(client_max_size=_MAX_MESSAGE_BYTES)
        app.router.add_get(path, self.chat)
        app.router.add_post(configs_path, self.create_config)
        app.on_shutdown.append(self._close_sockets)
        return app

    # --- errors ----------------------------------------------------------------------------

    def _error(self, exc: EviError) -> dict[str, Any]:
        """The `error` payload of `exc`, in this server's codes."""
        payload = exc.payload()
        if self.variants.active(v.OWN_ERROR_CODES):
            payload["code"], payload["slug"] = v.OWN_CODES[exc.kind.slug]
        if self.faults.active(f.ERROR_WITHOUT_SLUG):
            del payload["slug"]
        return payload

    def _refusal(self, exc: EviError) -> web.Response:
        """An HTTP refusal (before any socket) with the error as its JSON body."""
        return web.json_response(self._error(exc), status=exc.kind.status)

    async def _refuse(self, chat: Chat, exc: EviError) -> None:
        """Answer bad input (or a failure) with `error`; the socket stays open [default]."""
        if self.faults.active(f.SILENTLY_DROP_BAD_MESSAGE) and exc.kind is not INTERNAL_ERROR:
            return
        await self._send(chat, self._error(exc))
        if self.faults.active(f.CLOSE_ON_BAD_MESSAGE):
            await chat.ws.close(code=WSCloseCode.POLICY_VIOLATION, message=b"bad message")

    async def _guarded(self, chat: Chat, work: Awaitable[None]) -> None:
        """Run a handler or a turn; whatever it raises becomes an `error` message."""
        try:
            await work
        except asyncio.CancelledError:
            raise
        except EviError as exc:
            await self._refuse(chat, exc)
        except Exception:  # a bug of ours must not take the socket down
            log.exception("EVI chat %s: handler failed", chat.id)
            await self._refuse(chat, EviError(INTERNAL_ERROR))

    # --- HTTP ------------------------------------------------------------------------------

    def _authorised(self, request: web.Request) -> bool:
        if self.faults.active(f.SERVES_WITHOUT_AUTH):
            return True
        key = request.query.get("api_key") or request.headers.get("X-Hume-Api-Key")
        token = request.query.get("access_token")
        if self.variants.active(v.ANY_KEY):
            return bool(key or token)
        return key == self.api_key or token == self.access_token

    async def create_config(self, request: web.Request) -> web.Response:
        """`POST /v0/evi/configs`: 201 with the config, 400 for a bad body, 401 without auth."""
        if not self._authorised(request):
            return self._refusal(EviError(UNAUTHORIZED))
        try:
            body = await request.json()
        except ValueError as exc:
            return self._refusal(EviError(INVALID_CONFIG, f"the body is not JSON: {exc}"))
        try:
            created = config.parse_config(body)
        except EviError as exc:
            return self._refusal(exc)
        self.store.configs[created.id] = created
        return web.json_response(created.body(), status=201)

    # --- the chat socket -------------------------------------------------------------------

    async def chat(self, request: web.Request) -> web.StreamResponse:
        authorised = self._authorised(request)
        if not authorised and not self.variants.active(v.REFUSE_AFTER_UPGRADE):
            return self._refusal(EviError(UNAUTHORIZED))
        timeouts = Timeouts()
        config_id = request.query.get("config_id")
        if authorised and config_id is not None:
            found = self.store.configs.get(config_id)
            if found is None:
                return self._refusal(EviError(CONFIG_NOT_FOUND, f"config_id {config_id!r}"))
            timeouts = found.timeouts
        ws = web.WebSocketResponse(max_msg_size=_MAX_MESSAGE_BYTES)
        await ws.prepare(request)
        if not authorised:  # the refuse-after-upgrade variant: no chat is served
            return await self._turn_away(ws, EviError(UNAUTHORIZED))
        resumed = request.query.get("resumed_chat_group_id")
        group = self.store.new_group() if resumed is None else self.store.groups.get(resumed)
        if group is None:
            detail = f"resumed_chat_group_id {resumed!r}"
            return await self._turn_away(ws, EviError(CHAT_GROUP_NOT_FOUND, detail))
        if resumed is not None and self.faults.active(f.RESUME_NEW_GROUP):
            group = self.store.new_group()
        chat = Chat(ws, group, timeouts)
        try:
            await self._open(chat, request.query)
            async for msg in ws:
                if msg.type is WSMsgType.TEXT:
                    async with chat.input_lock:
                        await self._guarded(chat, self._receive(chat, msg.data))
                elif msg.type is WSMsgType.BINARY:
                    detail = "a binary frame: messages are JSON text"
                    await self._refuse(chat, EviError(INVALID_JSON, detail))
                else:
                    break
        finally:
            self.chats.discard(chat)
            await chat.close()
        return ws

    async def _turn_away(self, ws: web.WebSocketResponse, exc: EviError) -> web.WebSocketResponse:
        """An upgraded socket that serves no chat: `error`, then close 1008 (no chat_metadata)."""
        await ws.send_json(self._error(exc))
        await ws.close(code=WSCloseCode.POLICY_VIOLATION, message=exc.kind.slug.encode())
        return ws

    async def _open(self, chat: Chat, query: Mapping[str, str]) -> None:
        """chat_metadata first, the timers, then the query's settings."""
        if self.faults.active(f.METADATA_NOT_FIRST):
            await chat.send({"type": Server.ASSISTANT_END})
        await chat.send(
            {
                "type": Server.CHAT_METADATA,
                "chat_group_id": chat.group.id,
                "chat_id": chat.id,
                "request_id": chat.request_id,
            }
        )
        self.chats.add(chat)
        if not self.faults.active(f.MAX_DURATION_IGNORED):
            chat.arm(
                "max_duration",
                chat.timeouts.max_duration_s,
                self._expiry(chat, MAX_DURATION_TIMEOUT),
            )
        self._touch(chat)
        await self._guarded(chat, self._query(chat, query))

    async def _query(self, chat: Chat, query: Mapping[str, str]) -> None:
        chat.verbose = config.query_flag(query, "verbose_transcription")
        if self.faults.active(f.QUERY_SETTINGS_IGNORED):
            return
        settings = config.query_settings(query)
        if settings is not None:
            await self._session_settings(chat, settings)

    async def _receive(self, chat: Chat, raw: str) -> None:
        kind, payload = config.message(raw)
        if kind in _ACTIVITY:
            self._touch(chat)
        await self._handlers[kind](chat, payload)

    async def _send(self, chat: Chat, payload: dict[str, Any]) -> None:
        """Send a server message to its chat, with the session's custom_session_id."""
        if chat.settings.custom_session_id is not None:
            payload = {**payload, "custom_session_id": chat.settings.custom_session_id}
        targets = [chat]
        if self.faults.active(f.CROSS_CHAT_LEAK) and payload["type"] == Server.USER_MESSAGE:
            targets += [other for other in self.chats if other is not chat]
        for target in targets:
            await target.send(payload)

    async def _close_sockets(self, app: web.Application) -> None:
        # Without this, shutting down waits for every open socket's handler to finish.
        for chat in list(self.chats):
            await chat.ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")

    # --- timeouts --------------------------------------------------------------------------

    def _touch(self, chat: Chat) -> None:
        """The user or the assistant's client gave input: restart the inactivity timer."""
        seconds = chat.timeouts.inactivity_s
        if seconds is not None and not self.faults.active(f.INACTIVITY_IGNORED):
            chat.arm("inactivity", seconds, self._expiry(chat, INACTIVITY_TIMEOUT))

    def _expiry(self, chat: Chat, kind: ErrorKind) -> Callable[[], None]:
        def expire() -> None:
            task = asyncio.get_running_loop().create_task(self._end(chat, kind))
            self._ending.add(task)
            task.add_done_callback(self._ending.discard)

        return expire

    async def _end(self, chat: Chat, kind: ErrorKind) -> None:
        """A timeout: `error`, then close 1000."""
        await self._send(chat, self._error(EviError(kind)))
        await chat.ws.close(code=WSCloseCode.OK, message=kind.slug.encode())

    # --- client messages -------------------------------------------------------------------

    async def _session_settings(self, chat: Chat, payload: dict[str, Any]) -> None:
        before = chat.settings.audio
        chat.settings = chat.settings.updated(payload)
        if chat.settings.audio != before:
            chat.utterance = None  # its bytes were in the old format
        if self.variants.active(v.ECHO_SESSION_SETTINGS):
            await self._send(chat, payload)

    async def _user_input(self, chat: Chat, payload: dict[str, Any]) -> None:
        text: str = payload["text"]
        await self._interrupt(chat)
        now = chat.ms()
        from_text = not self.faults.active(f.USER_INPUT_NOT_FROM_TEXT)
        await self._user_message(chat, text, begin=now, end=now, from_text=from_text)
        self._reply(chat, Reply(kind=ReplyKind.ANSWER, text=text))

    async def _assistant_input(self, chat: Chat, payload: dict[str, Any]) -> None:
        self._reply(chat, Reply(kind=ReplyKind.VERBATIM, text=payload["text"]))

    async def _pause(self, chat: Chat, payload: dict[str, Any]) -> None:
        if self.faults.active(f.RESPONDS_WHILE_PAUSED):
            return
        chat.paused = True
        chat.hush()  # not an interruption: nothing is said about it

    async def _resume(self, chat: Chat, payload: dict[str, Any]) -> None:
        chat.paused = False
        held, chat.pending = chat.pending, None
        if held is not None and not self.faults.active(f.SILENT_AFTER_RESUME):
            self._reply(chat, held)

    def _tool_call(self, chat: Chat, payload: dict[str, Any]) -> PendingCall | None:
        """The pending call a tool_response or tool_error answers (None: unknown, accepted)."""
        call = chat.tool_calls.pop(payload["tool_call_id"], None)
        if call is None and not self.faults.active(f.UNKNOWN_TOOL_CALL_ACCEPTED):
            raise EviError(UNKNOWN_TOOL_CALL, f"tool_call_id {payload['tool_call_id']!r}")
        return call

    async def _tool_response(self, chat: Chat, payload: dict[str, Any]) -> None:
        call = self._tool_call(chat, payload)
        if self.faults.active(f.TOOL_RESPONSE_IGNORED):
            return
        name = call.tool.name if call else payload.get("tool_name", "tool")
        self._reply(chat, Reply(kind=ReplyKind.TOOL_RESULT, text=payload["content"], tool=name))

    async def _tool_error(self, chat: Chat, payload: dict[str, Any]) -> None:
        call = self._tool_call(chat, payload)
        name = call.tool.name if call else "tool"
        fallback = call.tool.fallback_content if call else ""
        text = payload.get("content") or fallback or f"the {name} tool failed"
        self._reply(chat, Reply(kind=ReplyKind.TOOL_RESULT, text=text, tool=name))

    # --- the user's speech -----------------------------------------------------------------

    async def _audio_input(self, chat: Chat, payload: dict[str, Any]) -> None:
        try:
            data = base64.b64decode(payload["data"], validate=True)
        except (binascii.Error, ValueError) as exc:  # non-ASCII text raises ValueError
            raise EviError(INVALID_AUDIO, f"/data is not base64: {exc}") from None
        if not data:
            return
        if chat.utterance is None:
            declared = chat.settings.audio
            if declared is None and audio.sniff(data[:12]) is None:
                # the rest of a WAV file whose header began an earlier utterance
                declared = chat.file_format
            chat.utterance = Utterance(declared, began_ms=chat.ms())
        utterance = chat.utterance
        try:
            heard = utterance.feed(data)
        except EviError:
            chat.utterance = None
            raise
        if utterance.kind == "wav":
            chat.file_format = AudioFormat(
                encoding="linear16", channels=utterance.channels, sample_rate=utterance.rate
            )
        if heard.speech_began:
            await self._interrupt(chat)
        if heard.ended:
            await self._commit(chat)
        else:
            # The coroutine is made when the timer fires: a timer re-armed leaves none unawaited.
            def paused() -> None:
                chat.spawn(self._paused_input(chat, utterance))

            chat.arm("utterance", INPUT_PAUSE_S, paused)

    async def _paused_input(self, chat: Chat, utterance: Utterance) -> None:
        """The input paused: what was said so far is the utterance (unless it ended already)."""
        async with chat.input_lock:
            if chat.utterance is utterance:
                await self._guarded(chat, self._commit(chat))

    async def _commit(self, chat: Chat) -> None:
        """End the utterance: its transcript (interim ones first if verbose), then the reply."""
        utterance, chat.utterance = chat.utterance, None
        chat.disarm("utterance")
        if utterance is None or not utterance.speech:
            return  # silence is no turn
        segment = utterance.segment()
        text = await asyncio.to_thread(providers.transcribe, segment)
        words = text.split()
        if chat.verbose and len(words) > 1 and not self.variants.active(v.NO_INTERIM):
            partial = " ".join(words[: len(words) // 2])
            await self._user_message(
                chat, partial, begin=utterance.began_ms, end=chat.ms(), interim=True
            )
        models = {"prosody": {"scores": providers.emotion_scores(text)}}
        await self._user_message(chat, text, begin=utterance.began_ms, end=chat.ms(), models=models)
        self._reply(chat, Reply(kind=ReplyKind.ANSWER, text=text))

    async def _user_message(
        self,
        chat: Chat,
        text: str,
        *,
        begin: int,
        end: int,
        from_text: bool = False,
        interim: bool = False,
        models: Mapping[str, Any] | None = None,
    ) -> None:
        if not interim and self.faults.active(f.FINAL_TRANSCRIPT_INTERIM):
            interim = True
        if self.faults.active(f.TIME_END_BEFORE_BEGIN):
            begin, end = end + 250, begin
        await self._send(
            chat,
            {
                "type": Server.USER_MESSAGE,
                "message": {"role": "user", "content": text},
                "models": dict(models or {}),
                "time": {"begin": begin, "end": end},
                "from_text": from_text,
                "interim": interim,
            },
        )

    async def _interrupt(self, chat: Chat) -> None:
        """The user speaks over the assistant: stop its turns and say so."""
        if not chat.speaking or self.faults.active(f.NO_INTERRUPTION):
            return
        chat.hush()
        await self._send(chat, {"type": Server.USER_INTERRUPTION, "time": int(time.time() * 1000)})

    # --- the assistant's turns -------------------------------------------------------------

    def _reply(self, chat: Chat, reply: Reply) -> None:
        """Start an assistant turn, or hold it (the last one only) while paused."""
        if chat.paused:
            chat.pending = reply
            return
        chat.spawn(self._guarded(chat, self._speak(chat, reply)), reply=True)

    async def _speak(self, chat: Chat, reply: Reply) -> None:
        async with chat.turn_lock:
            from_text = False
            if reply.kind is ReplyKind.VERBATIM:
                lines = [reply.text]
                from_text = not self.faults.active(f.ASSISTANT_INPUT_NOT_FROM_TEXT)
            elif reply.kind is ReplyKind.TOOL_RESULT:
                lines = providers.tool_sentences(reply.tool, reply.text)
            elif (tool := chat.settings.tool_for(reply.text)) is not None:
                await self._call_tool(chat, PendingCall(tool=tool, heard=reply.text))
                return
            else:
                prompt = f"{chat.settings.system_prompt} {chat.settings.context}".strip()
                lines = providers.answer_sentences(reply.text, prompt)
            steps = await asyncio.to_thread(self._steps, lines, from_text)
            for payload, pause_s in steps:
                await self._send(chat, payload)
                if pause_s:
                    await asyncio.sleep(pause_s)

    async def _call_tool(self, chat: Chat, call: PendingCall) -> None:
        call_id = str(uuid.uuid4())
        chat.tool_calls[call_id] = call
        arguments = providers.tool_arguments(call.tool.parameters, call.heard)
        if self.faults.active(f.TOOL_PARAMETERS_NOT_JSON):
            parameters = ", ".join(f"{key}={value}" for key, value in arguments.items())
        else:
            parameters = json.dumps(arguments)
        await self._send(
            chat,
            {
                "type": Server.TOOL_CALL,
                "name": call.tool.name,
                "parameters": parameters,
                "tool_call_id": call_id,
                "tool_type": "function",
                "response_required": True,
            },
        )

    def _steps(self, lines: Sequence[str], from_text: bool) -> list[tuple[dict[str, Any], float]]:
        """A turn's messages in order, each with the pause after it (in a worker thread)."""
        steps: list[tuple[dict[str, Any], float]] = []
        turn_index = 0
        for line in lines:
            message_id = str(uuid.uuid4())
            steps.append(
                (
                    {
                        "type": Server.ASSISTANT_MESSAGE,
                        "id": message_id,
                        "message": {"role": "assistant", "content": line},
                        "models": {},
                        "from_text": from_text,
                        "is_quick_response": False,
                    },
                    0.0,
                )
            )
            if self.variants.active(v.PROSODY_MESSAGES):
                scores = providers.emotion_scores(line)
                prosody = {"prosody": {"scores": scores}}
                steps.append(
                    ({"type": Server.ASSISTANT_PROSODY, "id": message_id, "models": prosody}, 0.0)
                )
            audio_id = (
                str(uuid.uuid4()) if self.variants.active(v.UNRELATED_AUDIO_IDS) else message_id
            )
            chunks = providers.audio_chunks(
                providers.spoken(line), CHUNK_MS, whole=self.variants.active(v.WHOLE_WAV_CHUNKS)
            )
            first = turn_index if self.variants.active(v.TURN_WIDE_AUDIO_INDEX) else 0
            for payload in self._audio_outputs(audio_id, chunks, first):
                steps.append((payload, CHUNK_MS / 1000 / self.pace))
            turn_index += len(chunks)
        end = ({"type": Server.ASSISTANT_END}, 0.0)
        if self.faults.active(f.ASSISTANT_END_EARLY):
            steps.insert(len(steps) - 1, end)
        elif not self.faults.active(f.NO_ASSISTANT_END):
            steps.append(end)
        return steps

    def _audio_outputs(
        self, audio_id: str, chunks: Sequence[bytes], first: int
    ) -> list[dict[str, Any]]:
        """The audio_output messages of one utterance's chunks."""
        payloads = []
        for n, data in enumerate(chunks):
            index = first + n
            if self.faults.active(f.AUDIO_INDEX_GAP) and n > 0:
                index += 1
            if self.faults.active(f.AUDIO_INDEX_DUPLICATE) and n > 0:
                index -= 1
            if self.faults.active(f.CORRUPT_AUDIO_OUTPUT):
                data = b"<html>not audio</html>" * (len(data) // 22 + 1)
            payload: dict[str, Any] = {
                "type": Server.AUDIO_OUTPUT,
                "id": audio_id,
                "index": index,
                "data": base64.b64encode(data).decode("ascii"),
            }
            if self.faults.active(f.AUDIO_OUTPUT_WITHOUT_INDEX):
                del payload["index"]
            payloads.append(payload)
        return payloads


def reference_app(
    faults: Sequence[str] = (), options: Mapping[str, Any] | None = None
) -> web.Application:
    """The reference EVI application; KeyError naming the known faults or variants.

    options: `variants` (names), `api_key`, `access_token` (the accepted credentials), `path`,
    `configs_path` (where the socket and the config API live), `pace` (audio_output pacing,
    times real time); unknown options are ignored.
    """
    options = options or {}
    server = EviServer(
        f.ActiveFaults(f.FAULTS, faults),
        v.ActiveVariants(v.VARIANTS, options.get("variants", ())),
        api_key=options.get("api_key", API_KEY),
        access_token=options.get("access_token", ACCESS_TOKEN),
        pace=options.get("pace", PACE),
    )
    return server.app(
        path=options.get("path", CHAT_PATH), configs_path=options.get("configs_path", CONFIGS_PATH)
    )
