"""The JSON Schemas of each protocol's messages, and the AsyncAPI document that names them.

Each protocol has a folder under `schemas/` (found through `conformance.resources`, never the
current directory):

    schemas/<protocol>/asyncapi.yaml                     the AsyncAPI 3.0.0 document
    schemas/<protocol>/messages/<message>.schema.json    one JSON Schema 2020-12 per message
    schemas/<protocol>/messages/definitions.schema.json  shared definitions (not a message)

A message is named by its event name (`response.audio.delta`). Every schema file carries an
`$id`; one `referencing.Registry` per protocol holds them all, so the `$ref`s between files
resolve without fetching anything.

Payloads are presented to the schemas as JSON would carry them: `bytes` (a Socket.IO binary
attachment) become a base64 string, so that `type: string` accepts an attachment; whether a
field should have been an attachment or base64 text is the test cases' concern, not the schema's.
"""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource
from referencing._core import Resolver  # not re-exported by referencing; typing only
from referencing.jsonschema import DRAFT202012

from conformance.resources import data_root

__all__ = [
    "SchemaViolation",
    "UnknownSchemaError",
    "asyncapi",
    "bundled",
    "errors",
    "examples",
    "messages",
    "protocols",
    "registry",
    "schema",
    "validator",
]

_DEFINITIONS = "definitions"
_SUFFIX = ".schema.json"
# Keywords whose values are data, not subschemas: a "$ref" key inside them is not a reference.
_DATA_KEYWORDS = frozenset({"const", "default", "enum", "examples"})
# Keywords that change no verdict: a `$ref` beside only these is inlined by a plain merge.
_ANNOTATIONS = frozenset(
    {
        "$comment",
        "default",
        "deprecated",
        "description",
        "examples",
        "readOnly",
        "title",
        "writeOnly",
    }
)
# Keywords whose values map arbitrary names (which may be "enum" or "$ref") to subschemas.
_SCHEMA_MAPS = frozenset({"$defs", "dependentSchemas", "patternProperties", "properties"})


@dataclass(frozen=True, slots=True)
class SchemaViolation:
    """One way a payload breaks its message schema."""

    path: str
    """JSON pointer (RFC 6901) to the offending value, e.g. `/TTS/provider/name`; "" is the root."""
    message: str
    """What is wrong, in jsonschema's words."""

    def __str__(self) -> str:
        return f"{self.path or '/'}: {self.message}"


class UnknownSchemaError(KeyError):
    """An unknown protocol or message name; the message lists the known ones."""

    def __str__(self) -> str:
        # KeyError's own __str__ quotes its argument as a repr; this one reads as a sentence.
        return str(self.args[0]) if self.args else ""


# -- discovery ---------------------------------------------------------------------------------


def protocols() -> list[str]:
    """The protocols that have a `schemas/<protocol>/messages/` folder, sorted."""
    root = data_root() / "schemas"
    return sorted(p.name for p in root.iterdir() if (p / "messages").is_dir())


def messages(protocol: str) -> list[str]:
    """The message names of `protocol` that have a schema file, sorted."""
    return sorted(name for name in _files(protocol) if name != _DEFINITIONS)


@cache
def _files(protocol: str) -> dict[str, Path]:
    known = protocols()
    if protocol not in known:
        raise UnknownSchemaError(f"unknown protocol {protocol!r}; known: {', '.join(known)}")
    folder = data_root() / "schemas" / protocol / "messages"
    return {path.name.removesuffix(_SUFFIX): path for path in sorted(folder.glob(f"*{_SUFFIX}"))}


def _known(protocol: str, message: str, names: Iterable[str]) -> None:
    names = sorted(names)
    if message not in names:
        raise UnknownSchemaError(
            f"unknown message {message!r} of protocol {protocol!r}; known: {', '.join(names)}"
        )


# -- loading -----------------------------------------------------------------------------------


@cache
def _documents(protocol: str) -> dict[str, dict[str, Any]]:
    """Every schema file of `protocol` (definitions included), checked, by name."""
    documents: dict[str, dict[str, Any]] = {}
    for name, path in _files(protocol).items():
        document = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(document, dict) or not isinstance(document.get("$id"), str):
            raise ValueError(f"{path}: a schema file must be an object with an $id")
        Draft202012Validator.check_schema(document)
        documents[name] = document
    return documents


@cache
def registry(protocol: str) -> Registry[Any]:
    """A `referencing.Registry` holding every schema file of `protocol` under its `$id`."""
    resources = [
        (document["$id"], Resource.from_contents(document, default_specification=DRAFT202012))
        for document in _documents(protocol).values()
    ]
    return Registry().with_resources(resources).crawl()


def schema(protocol: str, message: str) -> dict[str, Any]:
    """The JSON Schema of `message` (a copy: changing it changes nothing else).

    `"definitions"`, the shared definitions file, is accepted too, though it is not a message.
    """
    documents = _documents(protocol)
    _known(protocol, message, documents)
    return copy.deepcopy(documents[message])


@cache
def _asyncapi(protocol: str) -> dict[str, Any]:
    _files(protocol)  # rejects an unknown protocol with the list of known ones
    path = data_root() / "schemas" / protocol / "asyncapi.yaml"
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(document, dict):
        raise ValueError(f"{path}: an AsyncAPI document must be a mapping")
    return document


def asyncapi(protocol: str) -> dict[str, Any]:
    """The AsyncAPI document of `protocol`, parsed (a copy), with its `$ref`s left as written."""
    return copy.deepcopy(_asyncapi(protocol))


def examples(protocol: str, message: str) -> list[Any]:
    """The payloads of the examples the AsyncAPI document gives for `message`, in order."""
    components: dict[str, Any] = _asyncapi(protocol).get("components", {}).get("messages", {})
    _known(protocol, message, components)
    found = components[message].get("examples", [])
    return [copy.deepcopy(example["payload"]) for example in found if "payload" in example]


# -- validation --------------------------------------------------------------------------------


@cache
def validator(protocol: str, message: str) -> Draft202012Validator:
    """A validator for `message`, cached; formats (uuid ...) are asserted, `$ref`s resolve."""
    return Draft202012Validator(
        schema(protocol, message),
        registry=registry(protocol),
        format_checker=FormatChecker(),
    )


def errors(protocol: str, message: str, payload: Any) -> list[SchemaViolation]:
    """Every way `payload` breaks the schema of `message`, sorted by path; [] when it conforms.

    An `anyOf`/`oneOf` that fails is explained by its closest alternative (the one with the
    fewest errors, then the deepest), when one is closest; otherwise it is reported as such,
    unless a more specific violation at or below its path already says what is wrong. So a
    provider `{"name": "openai", "title": "AWS"}` reads `/provider/title: 'OpenAI' was expected`
    rather than "is not valid under any of the given schemas".
    """
    found: list[tuple[SchemaViolation, bool]] = []
    for error in validator(protocol, message).iter_errors(_present(payload)):
        found.extend(_explain(error))
    specific = [violation for violation, vague in found if not vague]
    kept = {
        violation
        for violation, vague in found
        if not vague or not any(_within(other.path, violation.path) for other in specific)
    }
    return sorted(kept, key=lambda violation: (violation.path, violation.message))


def _explain(error: ValidationError) -> list[tuple[SchemaViolation, bool]]:
    """`error` as violations, each flagged True when it is a bare "no alternative matched"."""
    alternatives = error.validator in ("anyOf", "oneOf")
    if alternatives and error.context:
        branches: dict[object, list[ValidationError]] = {}
        for sub in error.context:
            branches.setdefault(sub.relative_schema_path[0], []).append(sub)
        ranked = sorted(branches.values(), key=_distance)
        if len(ranked) == 1 or _distance(ranked[0]) != _distance(ranked[1]):
            return [explained for sub in ranked[0] for explained in _explain(sub)]
    return [(SchemaViolation(_pointer(error.absolute_path), error.message), alternatives)]


def _distance(branch: list[ValidationError]) -> tuple[int, int]:
    """How far an alternative is from matching: its error count, then minus its depth."""
    return len(branch), -max(len(sub.absolute_path) for sub in branch)


def _within(path: str, ancestor: str) -> bool:
    return path == ancestor or path.startswith(ancestor + "/")


def _present(value: Any) -> Any:
    """`value` as JSON would carry it: bytes (a binary attachment) become a base64 string."""
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, Mapping):
        return {key: _present(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_present(item) for item in value]
    return value


def _pointer(path: Iterable[str | int]) -> str:
    return "".join(f"/{str(part).replace('~', '~0').replace('/', '~1')}" for part in path)


# -- bundling ----------------------------------------------------------------------------------


def bundled(protocol: str, message: str, *, annotations: bool = True) -> dict[str, Any]:
    """The schema of `message` with every `$ref` inlined, for tools that resolve none.

    hypothesis-jsonschema, for one, fetches no reference it cannot find in the schema itself.
    A `$ref` beside annotations only (description, default ...) is replaced by its target with
    those annotations laid over it; beside other keywords, it becomes `allOf: [target]`. A
    recursive reference raises `ValueError` (none of the schemas has one).

    `annotations=False` also drops every keyword that changes no verdict (description, title,
    default, examples, `x-` extensions ...): the same language, and a generator that copies and
    hashes subschemas as it draws (hypothesis-jsonschema does) runs about a third faster.
    """
    root = schema(protocol, message)
    resolver = registry(protocol).resolver(base_uri=root["$id"])
    inlined: dict[str, Any] = _inline(root, resolver, (), annotations)
    inlined.pop("$defs", None)
    return inlined


def _inline(node: Any, resolver: Resolver[Any], stack: tuple[int, ...], keep: bool) -> Any:
    """`node` with its `$ref`s replaced by their targets; `keep` False drops annotations."""
    if isinstance(node, list):
        return [_inline(item, resolver, stack, keep) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "$ref" or (not keep and _is_annotation(key)):
            continue
        if key in _SCHEMA_MAPS and isinstance(value, dict):
            out[key] = {name: _inline(sub, resolver, stack, keep) for name, sub in value.items()}
        elif key in _DATA_KEYWORDS or key.startswith("x-"):
            out[key] = value
        else:
            out[key] = _inline(value, resolver, stack, keep)
    if "$ref" not in node:
        return out
    resolved = resolver.lookup(node["$ref"])
    if id(resolved.contents) in stack:
        raise ValueError(f"recursive $ref {node['$ref']!r} cannot be inlined")
    target = _inline(resolved.contents, resolved.resolver, (*stack, id(resolved.contents)), keep)
    if isinstance(target, dict):
        target = {k: v for k, v in target.items() if k not in ("$id", "$schema", "$defs")}
        if all(_is_annotation(key) for key in out):
            return target | out  # annotations change no verdict; the referring site's win
    return out | {"allOf": [*out.get("allOf", []), target]}


def _is_annotation(keyword: str) -> bool:
    return keyword in _ANNOTATIONS or keyword.startswith("x-")
