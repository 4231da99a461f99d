"""A `session.update` payload, validated against its schema and read into typed settings.

Defaults for what the payload leaves out are the ones the schema's descriptions document.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from conformance import schemas
from conformance.protocols.metahuman.events import Event, ResponseType
from conformance.protocols.metahuman.reference.errors import INVALID_SESSION_CONFIG, CustomError

__all__ = ["LlmConfig", "SessionConfig", "SttConfig", "TtsConfig", "parse_session_update"]


@dataclass(frozen=True, slots=True, kw_only=True)
class SttConfig:
    provider: str
    model: str = ""
    media_format: str = "mp3"
    language_code: str = "en-US"
    sentiment_analysis: bool = False
    prompt: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class LlmConfig:
    provider: str
    model: str = ""
    prompt: str = ""
    temperature: float = 1.0
    stop: tuple[str, ...] = ()
    max_token: int = 0  # 0: no limit (the seed's example sends 0)
    stream: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class TtsConfig:
    provider: str
    model: str = ""
    response_type: ResponseType = ResponseType.SINGLE
    language_code: str = "en-US"
    voice: str = ""
    speed: float = 1.0
    is_base64: bool = True
    is_ordered: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionConfig:
    stt: SttConfig
    llm: LlmConfig
    tts: TtsConfig


def parse_session_update(payload: Any) -> SessionConfig:
    """Validate a `session.update` payload; raise `CustomError(INVALID_SESSION_CONFIG)`."""
    violations = schemas.errors("metahuman", Event.SESSION_UPDATE, payload)
    if violations:
        first = violations[0]
        raise CustomError(INVALID_SESSION_CONFIG, f"{first.path or '/'}: {first.message}")
    stt: Mapping[str, Any] = payload["STT"]
    llm: Mapping[str, Any] = payload["LLM"]
    tts: Mapping[str, Any] = payload["TTS"]
    return SessionConfig(
        stt=SttConfig(
            provider=stt["provider"]["name"],
            model=stt.get("model", ""),
            media_format=stt.get("mediaFormat", "mp3"),
            language_code=stt.get("languageCode", "en-US"),
            sentiment_analysis=stt.get("sentimentAnalysis", False),
            prompt=stt.get("prompt", ""),
        ),
        llm=LlmConfig(
            provider=llm["provider"]["name"],
            model=_model_name(llm.get("model", "")),
            prompt=llm.get("prompt", ""),
            temperature=float(llm.get("temperature", 1.0)),
            stop=tuple(llm.get("stop", ())),
            max_token=llm.get("maxToken", 0),
            stream=llm.get("stream", False),
        ),
        tts=TtsConfig(
            provider=tts["provider"]["name"],
            model=tts.get("model", ""),
            response_type=ResponseType(tts.get("responseType", {"name": "single"})["name"]),
            language_code=tts.get("languageCode", "en-US"),
            voice=tts.get("voice", ""),
            speed=float(tts.get("speed", 1.0)),
            is_base64=tts.get("isBase64", True),
            is_ordered=tts.get("isOrdered", True),
        ),
    )


def _model_name(model: Any) -> str:
    # The seed lists aws LLM models as {name, title} objects and the others as strings.
    return str(model["name"]) if isinstance(model, Mapping) else str(model)
