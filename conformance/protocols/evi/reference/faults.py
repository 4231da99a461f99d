"""Defects an EVI server implementer could ship, injected on demand (`serve --fault NAME`).

They exist for the suite's own mutation tests: every check of the EVI catalogue must make at
least one of these FAILED, or it is a check that cannot fail. Each names the clause it breaks
and where that clause is written; the server reads each at the one place it acts
(`faults.active(FAULT)`), and it changes nothing else. None touches what the documents leave
open (ids' format, wording, the answer's text, which error code).
"""

from __future__ import annotations

from typing import Final

from conformance.protocols.faults import ActiveFaults, FaultRegistry, ServerFault

__all__ = ["FAULTS", "ActiveFaults", "ServerFault"]

FAULTS = FaultRegistry()

_SEED: Final = "seed 003"
_CATALOGUE: Final = "PROTOCOLS.md §3 [doc] message catalogue"
# The readings of what the seed leaves open, as schemas/evi/asyncapi.yaml writes them.
_READINGS: Final = "the suite's [default] reading (schemas/evi/asyncapi.yaml, the chat channel)"
_READING: Final = "PROTOCOLS.md general readings: after bad input"

# --- the chat's opening ------------------------------------------------------------------------
METADATA_NOT_FIRST = FAULTS.add(
    "metadata-not-first",
    "an `assistant_end` is sent at open, before `chat_metadata`",
    clause="The Chat Metadata message is the first message you receive after establishing a "
    "connection with EVI",
    source=f"{_SEED} ChatMetadata.type docs",
    caught_by=("EVI-META-001",),
)
SERVES_WITHOUT_AUTH = FAULTS.add(
    "serves-without-auth",
    "the socket is upgraded and a chat served (`chat_metadata`) without valid credentials",
    clause="a chat is never served without valid credentials (api_key, access_token or "
    "X-Hume-Api-Key)",
    source="the suite's [default] reading, authentication (schemas/evi/asyncapi.yaml, the server)",
    caught_by=("EVI-HS-002",),
)
QUERY_SETTINGS_IGNORED = FAULTS.add(
    "query-settings-ignored",
    "`session_settings[...]` query parameters are ignored, so PCM declared there is not understood",
    clause="session_settings[...] in bracket notation have the same meaning as a "
    "session_settings message sent first",
    source="hume 0.14.1 chat.connect(session_settings=...) (schemas/evi/asyncapi.yaml, the query)",
    caught_by=("EVI-SET-002",),
)

# --- audio_output ------------------------------------------------------------------------------
AUDIO_INDEX_GAP = FAULTS.add(
    "audio-index-gap",
    "audio_output indexes skip 1: 0, 2, 3 ...",
    clause="`index`: index of the chunk of audio relative to the whole audio segment, 0..n-1",
    source=f"{_CATALOGUE} (`audio_output{{id, index, data}}`); {_READINGS}, Audio out",
    caught_by=("EVI-OUT-002",),
)
AUDIO_INDEX_DUPLICATE = FAULTS.add(
    "audio-index-duplicate",
    "the second audio_output of an id repeats index 0",
    clause="`index`: each chunk of an audio segment has its own index, 0..n-1",
    source=f"{_CATALOGUE} (`audio_output{{id, index, data}}`); {_READINGS}, Audio out",
    caught_by=("EVI-OUT-002",),
)
AUDIO_OUTPUT_WITHOUT_INDEX = FAULTS.add(
    "audio-output-without-index",
    "audio_output carries no `index`",
    clause="audio_output{id, index, data}",
    source=f"{_CATALOGUE}; hume 0.14.1 AudioOutput.index is required",
    caught_by=("EVI-OUT-001", "EVI-MSG-001"),
)
CORRUPT_AUDIO_OUTPUT = FAULTS.add(
    "corrupt-audio-output",
    "audio_output data is not audio: neither each chunk nor the chunks of an id joined decode",
    clause="Base64 encoded audio output ... decoded and played back (WAV chunks)",
    source=f"{_SEED} AudioOutput.data docs; {_CATALOGUE}",
    caught_by=("EVI-OUT-003",),
)

# --- the end of a turn -------------------------------------------------------------------------
ASSISTANT_END_EARLY = FAULTS.add(
    "assistant-end-early",
    "`assistant_end` is sent before the turn's last audio_output",
    clause="assistant_end signals that the assistant has finished speaking for the current "
    "conversational turn: nothing of the turn follows it",
    source=f"{_SEED} AssistantEnd.type docs; {_READINGS}, Order",
    caught_by=("EVI-ORD-002",),
)
NO_ASSISTANT_END = FAULTS.add(
    "no-assistant-end",
    "a turn never ends with `assistant_end`",
    clause="This message indicates the conclusion of the assistant's response",
    source=f"{_SEED} AssistantEnd.type docs",
    caught_by=("EVI-ORD-003", "EVI-TXT-002"),
)

# --- the user's transcript ---------------------------------------------------------------------
FINAL_TRANSCRIPT_INTERIM = FAULTS.add(
    "final-transcript-interim",
    "the last user_message of a turn says `interim: true`",
    clause="interim user_messages come first, then the final one (interim: false)",
    source=f"{_CATALOGUE} (user_message{{..., interim}}); {_READINGS}, Order",
    caught_by=("EVI-AUD-001[*]",),
)
TIME_END_BEFORE_BEGIN = FAULTS.add(
    "time-end-before-begin",
    "user_message.time.end is before time.begin",
    clause="time: Start and End time of user message (a MillisecondInterval, begin <= end)",
    source=f"{_SEED} UserMessage.time, MillisecondInterval",
    caught_by=("EVI-TXT-004",),
)
USER_INPUT_NOT_FROM_TEXT = FAULTS.add(
    "user-input-not-from-text",
    "the user_message of a user_input says `from_text: false`",
    clause="from_text: Indicates if this message was inserted into the conversation as text "
    "from a User Input message",
    source=f"{_SEED} UserMessage.from_text docs",
    caught_by=("EVI-TXT-001",),
)
ASSISTANT_INPUT_NOT_FROM_TEXT = FAULTS.add(
    "assistant-input-not-from-text",
    "the assistant_message of an assistant_input says `from_text: false`",
    clause="from_text: Indicates if this message was inserted into the conversation as text "
    "from an Assistant Input message",
    source=f"{_SEED} AssistantMessage.from_text docs",
    caught_by=("EVI-AIN-001",),
)

# --- pause and resume --------------------------------------------------------------------------
RESPONDS_WHILE_PAUSED = FAULTS.add(
    "responds-while-paused",
    "pause_assistant_message is ignored: the assistant answers while paused",
    clause="Once this message is sent, EVI will not respond until a Resume Assistant message "
    "is sent",
    source=f"{_SEED} PauseAssistantMessage.type docs",
    caught_by=("EVI-PAUSE-001",),
)
SILENT_AFTER_RESUME = FAULTS.add(
    "silent-after-resume",
    "on resume_assistant_message the user messages sent during the pause get no answer",
    clause="Upon resuming ... EVI will ... respond to the last user message",
    source=f"{_SEED} ResumeAssistantMessage.type docs",
    caught_by=("EVI-PAUSE-003",),
)

# --- tools -------------------------------------------------------------------------------------
TOOL_PARAMETERS_NOT_JSON = FAULTS.add(
    "tool-parameters-not-json",
    "tool_call.parameters is `key=value` text, not stringified JSON",
    clause="parameters: Structured as a stringified JSON schema",
    source=f"{_SEED} ToolCallMessage.parameters docs",
    caught_by=("EVI-TOOL-002",),
)
TOOL_RESPONSE_IGNORED = FAULTS.add(
    "tool-response-ignored",
    "a tool_response for a pending tool call gets no answer",
    clause="tool_response conveys the result of the function call back to EVI, which answers",
    source=f"{_SEED} ToolResponseMessage.type docs; {_READINGS}, Order",
    caught_by=("EVI-TOOL-003",),
)
UNKNOWN_TOOL_CALL_ACCEPTED = FAULTS.add(
    "unknown-tool-call-accepted",
    "a tool_response or tool_error for a tool_call_id never issued is answered, no error",
    clause="The specified `tool_call_id` must match the one received in the Tool Call message",
    source=f"{_SEED} ToolResponseMessage.tool_call_id docs; {_READING}",
    caught_by=("EVI-ERR-006",),
)

# --- interruption ------------------------------------------------------------------------------
NO_INTERRUPTION = FAULTS.add(
    "no-interruption",
    "speech while the assistant speaks neither stops its audio nor sends user_interruption",
    clause="EVI detects the interruption in real-time and sends this message ... to stop the "
    "current audio playback",
    source=f"{_SEED} UserInterruption.type docs",
    caught_by=("EVI-INT-001", "EVI-INT-002"),
)

# --- timeouts and resumption -------------------------------------------------------------------
INACTIVITY_IGNORED = FAULTS.add(
    "inactivity-ignored",
    "the config's inactivity timeout is never applied",
    clause="the duration of user inactivity (in seconds) after which the EVI WebSocket "
    "connection will be automatically disconnected",
    source=f"{_SEED} PostedTimeoutSpecsInactivity docs",
    caught_by=("EVI-TIME-001",),
)
MAX_DURATION_IGNORED = FAULTS.add(
    "max-duration-ignored",
    "the config's max duration is never applied",
    clause="the maximum allowed duration (in seconds) for an EVI WebSocket connection before "
    "it is automatically disconnected",
    source=f"{_SEED} PostedTimeoutSpecsMaxDuration docs",
    caught_by=("EVI-TIME-003",),
)
RESUME_NEW_GROUP = FAULTS.add(
    "resume-new-group",
    "a socket opened with resumed_chat_group_id gets a new chat_group_id",
    clause="chat_group_id: Used to resume a Chat when passed in the resumed_chat_group_id "
    "query parameter of a subsequent connection request",
    source=f"{_SEED} ChatMetadata.chat_group_id docs",
    caught_by=("EVI-RES-001",),
)

# --- bad input ---------------------------------------------------------------------------------
ERROR_WITHOUT_SLUG = FAULTS.add(
    "error-without-slug",
    "`error` messages carry no `slug`",
    clause="error{code, slug, message}: slug: string (required)",
    source=f"{_SEED} WebSocketError.slug",
    caught_by=("EVI-ERR-*",),
)
CLOSE_ON_BAD_MESSAGE = FAULTS.add(
    "close-on-bad-message",
    "after answering bad input with `error`, the socket is closed (1008)",
    clause="after bad input: never a dropped connection",
    source=f"{_READING}; [default] the socket stays open (schemas/evi/asyncapi.yaml)",
    caught_by=("EVI-ERR-*",),
)
SILENTLY_DROP_BAD_MESSAGE = FAULTS.add(
    "silently-drop-bad-message",
    "bad input gets no `error`: it is dropped without a word",
    clause="after bad input: never a silent session ([default] an error naming the problem)",
    source=_READING,
    caught_by=("EVI-ERR-*",),
)
CROSS_CHAT_LEAK = FAULTS.add(
    "cross-chat-leak",
    "each user_message is also sent to every other open chat",
    clause="never any effect on another session",
    source=f"{_READING}; a chat is one socket's ({_SEED} ChatMetadata.chat_id)",
    caught_by=("EVI-ISO-001",),
)
