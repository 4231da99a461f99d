"""The EVI chat message vocabulary, in the seed's own words (seed 003, PROTOCOLS.md §3)."""

from __future__ import annotations

from enum import StrEnum
from types import MappingProxyType
from typing import Final

__all__ = [
    "ANSWER",
    "SDK_REQUIRED",
    "SDK_SERVER",
    "SEED_SERVER",
    "Client",
    "Server",
]


class Client(StrEnum):
    """What a client sends: the `type` of each client message."""

    SESSION_SETTINGS = "session_settings"
    AUDIO_INPUT = "audio_input"
    USER_INPUT = "user_input"
    ASSISTANT_INPUT = "assistant_input"
    PAUSE_ASSISTANT_MESSAGE = "pause_assistant_message"
    RESUME_ASSISTANT_MESSAGE = "resume_assistant_message"
    TOOL_RESPONSE = "tool_response"
    TOOL_ERROR = "tool_error"


class Server(StrEnum):
    """What a server sends: the `type` of each server message."""

    CHAT_METADATA = "chat_metadata"
    USER_MESSAGE = "user_message"
    ASSISTANT_MESSAGE = "assistant_message"
    AUDIO_OUTPUT = "audio_output"
    ASSISTANT_END = "assistant_end"
    USER_INTERRUPTION = "user_interruption"
    TOOL_CALL = "tool_call"
    ERROR = "error"
    # the newest SDK's union only (hume 0.14.1 SubscribeEvent), open points of the seed
    ASSISTANT_PROSODY = "assistant_prosody"


# The assistant's side of a turn: nothing of it may follow the turn's assistant_end.
ANSWER: Final = (Server.ASSISTANT_MESSAGE, Server.AUDIO_OUTPUT)

# Server messages of the seed: its JsonMessage union (which also carries tool_response and
# tool_error), audio_output and assistant_end.
SEED_SERVER: Final = frozenset(
    {*(str(s) for s in Server if s is not Server.ASSISTANT_PROSODY)}
    | {str(Client.TOOL_RESPONSE), str(Client.TOOL_ERROR)}
)
# Server messages the newest SDK parses (hume 0.14.1 SubscribeEvent): it rejects any other
# `type`, and echoes of session_settings are in its union.
SDK_SERVER: Final = SEED_SERVER | {str(Server.ASSISTANT_PROSODY), str(Client.SESSION_SETTINGS)}
# Fields hume 0.14.1 requires that the seed does not: a client built on it rejects a message
# without them (a SHOULD of the suite; audio_output.index is a MUST, in its schema).
SDK_REQUIRED: Final = MappingProxyType(
    {
        str(Server.ASSISTANT_MESSAGE): ("is_quick_response",),
        str(Server.TOOL_CALL): ("tool_type",),
    }
)
