"""A `session.update` payload, validated against its schema and read into typed settings.

Defaults for what the payload leaves out are the ones the schema's descriptions document.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from conformance import schemas
from conformance.protocols.metahuman.events import Event, ResponseType
from conformance.protocols.metahuman.reference.errors import INVALID_SESSION_CONFIG, CustomError

__all__ = [
    "LENIENT_FIELDS",
    "LlmConfig",
    "SessionConfig",
    "SttConfig",
    "TtsConfig",
    "parse_session_update",
    "unsupported",
]

# The optional fields a lenient server defaults when they are malformed (lenient-optional-fields
# variant): everything but the sections, their providers, and TTS.responseType, without which
# the server cannot know how to cut its audio.
LENIENT_FIELDS: dict[str, frozenset[str]] = {
    "STT": frozenset({"model", "mediaFormat", "languageCode", "sentimentAnalysis", "prompt"}),
    "LLM": frozenset({"model", "prompt", "temperature", "stop", "maxToken", "name", "stream"}),
    "TTS": frozenset(
        {"model", "languageCode", "voice", "speed", "ssmlGender", "stream", "isBase64", "isOrdered"}
    ),
}


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


def parse_session_update(payload: Any, *, lenient: bool = False) -> SessionConfig:
    """Validate a `session.update` payload; raise `CustomError(INVALID_SESSION_CONFIG)`.

    `lenient`: malformed optional fields (`LENIENT_FIELDS`) are dropped, so their defaults
    apply, instead of refusing the update.
    """
    violations = schemas.errors("metahuman", Event.SESSION_UPDATE, payload)
    if violations and lenient:
        payload = _without_malformed(payload, [v.path for v in violations])
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


def _without_malformed(payload: Any, paths: list[str]) -> Any:
    """`payload` without the lenient fields `paths` point into; unchanged if any is not one."""
    drop: list[tuple[str, str]] = []
    for path in paths:
        parts = path.split("/")[1:]
        if len(parts) < 2 or parts[1] not in LENIENT_FIELDS.get(parts[0], frozenset()):
            return payload
        drop.append((parts[0], parts[1]))
    kept = dict(payload)
    for section, name in drop:
        kept[section] = {k: v for k, v in kept[section].items() if k != name}
    return kept


def _listed(definitions: Mapping[str, Any], ref: str | None) -> frozenset[str] | None:
    """The names a `#/$defs/...` list of the seed allows, or None when it lists none."""
    if ref is None:
        return None
    node: Mapping[str, Any] = definitions[ref.rsplit("/", 1)[-1]]
    names = set(node.get("enum", ()))
    for branch in node.get("anyOf", ()):
        names |= set(branch.get("enum", ()))
        names |= set(branch.get("properties", {}).get("name", {}).get("enum", ()))
    return frozenset(names) or None


@functools.cache
def _catalogue() -> dict[tuple[str, str, str], frozenset[str]]:
    """(section, provider, "model" | "voice") → the names the seed lists for that provider."""
    definitions = schemas.schema("metahuman", "definitions")["$defs"]
    lists: dict[tuple[str, str, str], frozenset[str]] = {}
    for section in ("STT", "LLM", "TTS"):
        provider = definitions[f"{section}_Provider"]
        for key, field in (("x-models", "model"), ("x-voices", "voice")):
            for name, ref in provider.get(key, {}).items():
                listed = _listed(definitions, ref)
                if listed is not None:
                    lists[(section, name, field)] = listed
    return lists


def unsupported(config: SessionConfig) -> str | None:
    """Why a provider lacks the model or voice `config` names (per the seed's lists), or None.

    Absent names (the provider's default) and providers the seed lists nothing for pass.
    """
    lists = _catalogue()
    asked = (
        ("STT", config.stt.provider, "model", config.stt.model),
        ("LLM", config.llm.provider, "model", config.llm.model),
        ("TTS", config.tts.provider, "model", config.tts.model),
        ("TTS", config.tts.provider, "voice", config.tts.voice),
    )
    for section, provider, field, name in asked:
        listed = lists.get((section, provider, field))
        if name and listed is not None and name not in listed:
            return f"{section}.{field} {name!r} is not a {field} of provider {provider!r}"
    return None
