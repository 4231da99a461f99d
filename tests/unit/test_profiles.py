"""The profile loader on its own: it never imports the protocols registry, it names the protocol
a profile is for, and it layers what the caller hands in (built-in, embedded, the file)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conformance.profiles import (
    Profile,
    ProfileError,
    ProtocolProfile,
    Timeout,
    load_profile,
    profile_protocol,
)

KNOWN = ("alpha", "beta")

# A protocol no registry knows: the loader takes everything it needs from this value.
ALPHA = ProtocolProfile(
    name="alpha",
    builtin={
        "protocol": "alpha",
        "timeouts": {
            "connect": 1,
            "event": 1,
            "transcription": 3,
            "first_audio": 4,
            "turn": 5,
            "silence": 0.5,
            "stall": 1,
        },
        "greeting": {"text": "hello", "loud": False},
    },
    schema={
        "properties": {
            "greeting": {
                "type": "object",
                "additionalProperties": False,
                "properties": {"text": {"type": "string"}, "loud": {"type": "boolean"}},
            }
        }
    },
    embedded={"greeting": {"loud": True}},
)


def _file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "profile.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_profiles_do_not_import_the_protocols() -> None:
    """Importing the profiles (as the engine does) leaves the protocols registry unimported."""
    code = (
        "import sys, conformance.profiles, conformance.engine.context; "
        "print(sorted(m for m in sys.modules if m.startswith('conformance.protocols')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_protocol_of_a_file_and_of_no_file(tmp_path: Path) -> None:
    """The file's `protocol` names the plug-in; without a file, --protocol or the default."""
    assert profile_protocol(_file(tmp_path, "protocol: beta\n"), known=KNOWN) == "beta"
    assert profile_protocol(None, protocol="beta", known=KNOWN) == "beta"
    assert profile_protocol(None, known=("metahuman",)) == "metahuman"


@pytest.mark.parametrize(
    ("text", "protocol", "says"),
    [
        ("timeouts: {}\n", None, "/protocol: required, one of alpha, beta"),
        ("protocol: gamma\n", None, "/protocol: unknown protocol 'gamma'; known: alpha, beta"),
        ("protocol: alpha\n", "beta", "/protocol: the profile is for 'alpha', not 'beta'"),
        ("- a\n- list\n", None, "a profile is a mapping of keys, not list"),
    ],
)
def test_protocol_errors_name_the_field(
    text: str, protocol: str | None, says: str, tmp_path: Path
) -> None:
    """A profile naming no, an unknown or another protocol says so and lists the known ones."""
    path = _file(tmp_path, text)
    with pytest.raises(ProfileError) as raised:
        profile_protocol(path, protocol=protocol, known=KNOWN)
    assert str(raised.value) == f"{path}: {says}"


def _loaded(tmp_path: Path, text: str | None, *, embedded: bool = False) -> Profile:
    path = None if text is None else _file(tmp_path, text)
    return load_profile(path, ALPHA, embedded=embedded)


def test_layers_builtin_embedded_file(tmp_path: Path) -> None:
    """The file overrides the embedded values, which override the built-in profile."""
    builtin = _loaded(tmp_path, None)
    assert builtin.source == "built-in:alpha"
    assert builtin.section("greeting") == {"text": "hello", "loud": False}
    assert _loaded(tmp_path, None, embedded=True).section("greeting")["loud"] is True
    data: dict[str, Any] = dict(
        _loaded(tmp_path, "protocol: alpha\ngreeting: {loud: false}\n", embedded=True).data
    )
    assert data["greeting"] == {"text": "hello", "loud": False}


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("protocol: alpha\ngreeting: {text: 3}\n", "/greeting/text: 3 is not of type 'string'"),
        ("protocol: alpha\ngreting: {}\n", "allowed keys: "),
        ("protocol: beta\n", "/protocol: the profile is for 'beta', not 'alpha'"),
    ],
)
def test_bad_profiles_name_the_field(text: str, says: str, tmp_path: Path) -> None:
    """A bad key or value is refused with its path, against the schema handed in."""
    with pytest.raises(ProfileError) as raised:
        _loaded(tmp_path, text)
    assert str(raised.value).startswith(f"{tmp_path / 'profile.yaml'}: ")
    assert says in str(raised.value)


def test_timeouts_are_typed_floats_that_name_their_key(tmp_path: Path) -> None:
    """The seven timeouts come from the profile, each a float that knows its key and cites
    itself in the words messages use; a profile's timeouts override the defaults."""
    timeouts = _loaded(tmp_path, None).timeouts
    assert [t.key for t in timeouts] == [
        "timeouts.connect",
        "timeouts.event",
        "timeouts.transcription",
        "timeouts.first_audio",
        "timeouts.turn",
        "timeouts.silence",
        "timeouts.stall",
    ]
    assert list(timeouts) == [1, 1, 3, 4, 5, 0.5, 1]
    assert all(isinstance(t, Timeout) and isinstance(t, float) for t in timeouts)
    assert timeouts.turn == 5.0
    assert timeouts.turn.key == "timeouts.turn"
    assert timeouts.turn.cited == "5 s (timeouts.turn)"
    assert timeouts.silence.cited == "0.5 s (timeouts.silence)"
    assert type(timeouts.turn * 4) is float  # arithmetic gives plain seconds
    overridden = _loaded(tmp_path, "protocol: alpha\ntimeouts: {turn: 30, stall: 2.5}\n").timeouts
    assert (overridden.turn, overridden.stall, overridden.event) == (30.0, 2.5, 1.0)
    assert overridden.turn.cited == "30 s (timeouts.turn)"
    assert overridden.stall.cited == "2.5 s (timeouts.stall)"


def test_a_profile_without_every_timeout_is_refused(tmp_path: Path) -> None:
    """A built-in profile must give all seven timeouts; a missing one is named."""
    builtin = {**ALPHA.builtin, "timeouts": {"connect": 1, "turn": 5}}
    lacking = ProtocolProfile(name="alpha", builtin=builtin, schema=ALPHA.schema, embedded={})
    with pytest.raises(ProfileError) as raised:
        load_profile(None, lacking)
    assert str(raised.value) == (
        "built-in:alpha: /timeouts: no value for event, transcription, first_audio, silence, stall"
    )
