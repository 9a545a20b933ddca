"""Every payload Kizuna sends to Discord, checked against Discord's published OpenAPI document.

``tests/schemas/discord-openapi.json`` is a verbatim copy of ``specs/openapi.json`` from
github.com/discord/discord-api-spec (MIT; commit and hash in ``tests/schemas/SOURCES.md``). OpenAPI 3.1
schemas are JSON Schema 2020-12, so ``jsonschema`` validates a request body against the schema of its
operation with the document itself as the registry that resolves ``#/components/...``.

``check_request(method, path, body)`` finds the operation whose path template matches (a literal segment
beats a parameter, as OpenAPI says) and validates the JSON body; ``check_interaction_response(body)``
validates what the interactions endpoint answers, which is the body of Discord's callback operation.
Where the spec's union is "one of" kinds told apart by ``type`` (interaction callbacks), only the
branches that allow the payload's ``type`` are tried, so an error names what is wrong in the kind sent.
Each function returns a list of problems; empty means the payload fits the spec.

Where the spec disagrees with Discord's documentation, the documentation wins (the spec is a preview);
each such place is patched in ``DOCS_WIN`` with the page that says so.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPEC_FILE = Path(__file__).resolve().parents[1] / "schemas" / "discord-openapi.json"
CALLBACK = "/interactions/{interaction_id}/{interaction_token}/callback"
ROOT = "urn:discord-openapi"


# (schema name, property, the schema the documentation gives it, where the documentation says so)
DOCS_WIN = [
    (name, "default_member_permissions", {"type": ["string", "integer", "null"]},
     "docs: interactions/application-commands, Create Global Application Command: `?string`, a permission bit set")
    for name in ("ApplicationCommandCreateRequest", "ApplicationCommandUpdateRequest",
                 "ApplicationCommandPatchRequestPartial")
]


@functools.cache
def _spec() -> dict[str, Any]:
    spec: dict[str, Any] = json.loads(SPEC_FILE.read_text(encoding="utf-8"))
    for name, prop, schema, _ in DOCS_WIN:
        spec["components"]["schemas"][name]["properties"][prop] = schema
    return spec


@functools.cache
def _registry() -> Registry:  # type: ignore[type-arg]
    return Registry().with_resource(ROOT, Resource.from_contents(_spec(), default_specification=DRAFT202012))


@functools.cache
def _routes() -> list[tuple[re.Pattern[str], int, str]]:
    """(pattern, number of parameters, template) for every path, literal paths first among equals."""
    routes = []
    for template in _spec()["paths"]:
        pattern = re.escape(template)
        pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", pattern)
        routes.append((re.compile(pattern), template.count("{"), template))
    return sorted(routes, key=lambda route: route[1])


def operation(method: str, path: str) -> tuple[str, dict[str, Any]] | None:
    """The spec's template and operation for a concrete request path, or None if the spec has none."""
    for pattern, _, template in _routes():
        if pattern.fullmatch(path):
            found = _spec()["paths"][template].get(method.lower())
            if found is not None:
                return template, found
    return None


def _pointer(*parts: str) -> str:
    return "".join("/" + part.replace("~", "~0").replace("/", "~1") for part in parts)


def _at(pointer: str) -> Any:
    """The part of the document at a JSON pointer."""
    return _registry().resolver(base_uri=ROOT).lookup(f"{ROOT}#{pointer}").contents


def _problems(pointer: str, body: Any, where: str) -> list[str]:
    # A reference into the document, so the schema's own ``#/components/...`` references resolve.
    validator = Draft202012Validator({"$ref": f"{ROOT}#{pointer}"}, registry=_registry())
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
    return [f"{where}: {'/'.join(map(str, e.absolute_path)) or '(body)'}: {e.message[:300]}" for e in errors]


def _branches_for(pointer: str, body: Any) -> list[str]:
    """The union's branches whose ``type`` property admits the body's ``type`` (all, if none is told apart)."""
    schema = _at(pointer)
    if not (isinstance(body, dict) and "type" in body and "anyOf" in schema and schema.get("x-discord-union")):
        return [pointer]
    chosen = []
    for index, branch in enumerate(schema["anyOf"]):
        where = branch["$ref"][1:] if set(branch) == {"$ref"} else f"{pointer}/anyOf/{index}"
        kinds = _at(where).get("properties", {})
        if "type" not in kinds or not _problems(f"{where}/properties/type", body["type"], ""):
            chosen.append(f"{pointer}/anyOf/{index}")
    return chosen or [pointer]


def _check_body(pointer: str, body: Any, where: str) -> list[str]:
    results = [_problems(branch, body, where) for branch in _branches_for(pointer, body)]
    return [] if any(not problems for problems in results) else min(results, key=len)


def check_request(method: str, path: str, body: Any) -> list[str]:
    """Problems of a request Kizuna made to Discord's API (an unknown operation is one)."""
    where = f"{method} {path}"
    found = operation(method, path)
    if found is None:
        return [f"{where}: Discord's API has no such operation"]
    template, spec = found
    content = spec.get("requestBody", {}).get("content", {})
    if body is None:
        return [] if not spec.get("requestBody", {}).get("required") else [f"{where}: a body is required"]
    if "application/json" not in content:
        return [f"{where}: {template} takes no JSON body"]
    return _check_body(_pointer("paths", template, method.lower(), "requestBody", "content", "application/json",
                                "schema"), body, where)


def check_interaction_response(body: Any) -> list[str]:
    """Problems of an answer to an interaction (the body of Discord's interaction callback)."""
    pointer = _pointer("paths", CALLBACK, "post", "requestBody", "content", "application/json", "schema")
    return _check_body(pointer, body, "interaction response")
