"""``GET /api/docs/openapi.json`` and ``GET /api/docs``: the OpenAPI document and its page.

The page is rendered on the server from the same document (no script, no CDN): every
operation with its parameters, request bodies and responses, and the shared schemas.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from footfall.web.api.openapi import openapi_document
from footfall.web.pages.templating import render

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
# Nested objects deeper than this are shown by their type only.
MAX_DEPTH = 4
_CODE = re.compile(r"`([^`]*)`")
# A type as (text, name of the shared schema the text links to, or None) pieces.
TypeParts = tuple[tuple[str, str | None], ...]


@dataclass(frozen=True, slots=True)
class Text:
    """Prose with ``code`` spans: alternating (text, is_code) segments, escaped when shown."""

    parts: tuple[tuple[str, bool], ...]


def text(value: str) -> Text:
    """Splits Markdown-ish `value` on backticks into plain and code segments."""
    parts: list[tuple[str, bool]] = []
    last = 0
    for match in _CODE.finditer(value):
        if match.start() > last:
            parts.append((value[last : match.start()], False))
        parts.append((match.group(1), True))
        last = match.end()
    if last < len(value):
        parts.append((value[last:], False))
    return Text(tuple(parts))


@dataclass(frozen=True, slots=True)
class SchemaRow:
    """One line of a schema table: a property (or the root) with its type."""

    name: str
    type: TypeParts
    required: bool
    description: Text
    depth: int


@dataclass(frozen=True, slots=True)
class Parameter:
    """A parameter of an operation."""

    name: str
    location: str
    required: bool
    type: TypeParts
    description: Text
    example: str | None


@dataclass(frozen=True, slots=True)
class Body:
    """A request or response body in one media type."""

    media_type: str
    rows: tuple[SchemaRow, ...]
    example: str | None


@dataclass(frozen=True, slots=True)
class Header:
    """A response header."""

    name: str
    type: TypeParts
    required: bool
    description: Text


@dataclass(frozen=True, slots=True)
class ResponseView:
    """One documented status of an operation."""

    status: str
    description: Text
    headers: tuple[Header, ...]
    bodies: tuple[Body, ...]


@dataclass(frozen=True, slots=True)
class Operation:
    """One method on one path."""

    method: str
    path: str
    anchor: str
    summary: str
    description: Text
    authenticated: bool
    parameters: tuple[Parameter, ...]
    bodies: tuple[Body, ...]
    responses: tuple[ResponseView, ...]


@dataclass(frozen=True, slots=True)
class NamedSchema:
    """A shared schema of ``components/schemas``."""

    name: str
    rows: tuple[SchemaRow, ...]


@dataclass(frozen=True, slots=True)
class ApiPage:
    """Everything the page shows."""

    title: str
    version: str
    description: Text
    operations: tuple[Operation, ...]
    schemas: tuple[NamedSchema, ...]


class _Resolver:
    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document

    def resolve(self, value: dict[str, Any]) -> dict[str, Any]:
        """Follows a local ``$ref`` (to parameters, responses, headers)."""
        while "$ref" in value:
            node: Any = self.document
            for part in value["$ref"].removeprefix("#/").split("/"):
                node = node[part]
            value = node
        return value


def _ref_name(schema: dict[str, Any]) -> str | None:
    ref = schema.get("$ref")
    return ref.rsplit("/", 1)[1] if isinstance(ref, str) else None


def _join(groups: list[TypeParts], joiner: str) -> TypeParts:
    parts: list[tuple[str, str | None]] = []
    for i, group in enumerate(groups):
        if i:
            parts.append((joiner, None))
        parts.extend(group)
    return tuple(parts)


def type_parts(schema: dict[str, Any]) -> TypeParts:
    """A short, readable type of `schema` (``string``, ``array of Goal``, ``one of a, b``).

    Returns:
        (text, shared schema name or None) pieces, so that a page can link each named schema.
    """
    name = _ref_name(schema)
    if name:
        return ((name, name),)
    if "const" in schema:
        return ((orjson.dumps(schema["const"]).decode(), None),)
    if "enum" in schema:
        values = ", ".join(orjson.dumps(v).decode() for v in schema["enum"])
        return (("one of " + values, None),)
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            joiner = " and " if key == "allOf" else " or "
            return _join([type_parts(s) for s in schema[key]], joiner)
    kind = schema.get("type", "any")
    groups: list[TypeParts] = []
    for each in [kind] if isinstance(kind, str) else kind:
        items = schema.get("items")
        extra = schema.get("additionalProperties")
        if each == "array" and isinstance(items, dict):
            groups.append((("array of ", None), *type_parts(items)))
        elif each == "object" and isinstance(extra, dict) and not schema.get("properties"):
            groups.append((("object of ", None), *type_parts(extra)))
        else:
            groups.append(((each, None),))
    parts = _join(groups, " or ")
    limits = [
        f"{word} {schema[key]}"
        for key, word in (("minimum", "≥"), ("maximum", "≤"), ("maxLength", "length ≤"))
        if key in schema
    ]
    if "format" in schema:
        limits.insert(0, str(schema["format"]))
    if "pattern" in schema:
        limits.append(f"matching {schema['pattern']}")
    return (*parts, (f" ({', '.join(limits)})", None)) if limits else parts


def schema_rows(
    schema: dict[str, Any], *, name: str = "", required: bool = True, depth: int = 0
) -> list[SchemaRow]:
    """The rows of a schema table: the schema itself, then its properties, nested."""
    rows = [
        SchemaRow(
            name=name,
            type=type_parts(schema),
            required=required,
            description=text(str(schema.get("description", ""))),
            depth=depth,
        )
    ]
    if "$ref" in schema or depth >= MAX_DEPTH:
        return rows
    target = schema
    items = schema.get("items")
    if isinstance(items, dict) and "properties" in items:
        target = items
    needed = set(target.get("required", ()))
    for prop, sub in target.get("properties", {}).items():
        rows.extend(schema_rows(sub, name=prop, required=prop in needed, depth=depth + 1))
    return rows


def _example(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return orjson.dumps(value, option=orjson.OPT_INDENT_2).decode()


def _bodies(content: dict[str, Any]) -> tuple[Body, ...]:
    return tuple(
        Body(
            media_type=media_type,
            rows=tuple(schema_rows(spec.get("schema", {}))),
            example=_example(spec.get("example")),
        )
        for media_type, spec in content.items()
    )


def _operation(
    resolver: _Resolver, path: str, method: str, spec: dict[str, Any], secured: bool
) -> Operation:
    parameters = []
    for raw in spec.get("parameters", []):
        param = resolver.resolve(raw)
        example = param.get("example")
        parameters.append(
            Parameter(
                name=param["name"],
                location=param["in"],
                required=bool(param.get("required")),
                type=type_parts(param.get("schema", {})),
                description=text(param.get("description", "")),
                example=None if example is None else str(example),
            )
        )
    responses = []
    for status, raw in spec.get("responses", {}).items():
        response = resolver.resolve(raw)
        headers = []
        for header_name, header_raw in response.get("headers", {}).items():
            header = resolver.resolve(header_raw)
            headers.append(
                Header(
                    name=header_name,
                    type=type_parts(header.get("schema", {})),
                    required=bool(header.get("required")),
                    description=text(header.get("description", "")),
                )
            )
        responses.append(
            ResponseView(
                status=status,
                description=text(response.get("description", "")),
                headers=tuple(headers),
                bodies=_bodies(response.get("content", {})),
            )
        )
    request_body = spec.get("requestBody", {})
    return Operation(
        method=method.upper(),
        path=path,
        anchor=f"{method}-{re.sub(r'[^a-z0-9]+', '-', path.lower()).strip('-')}",
        summary=spec.get("summary", ""),
        description=text(spec.get("description", "")),
        authenticated=bool(spec.get("security", secured)),
        parameters=tuple(parameters),
        bodies=_bodies(request_body.get("content", {})),
        responses=tuple(responses),
    )


def page_view(document: dict[str, Any]) -> ApiPage:
    """What the docs page shows of `document`, in the document's order."""
    resolver = _Resolver(document)
    secured = document.get("security", [])
    operations = [
        _operation(resolver, path, method, item[method], secured)
        for path, item in document["paths"].items()
        for method in METHODS
        if method in item
    ]
    schemas = [
        NamedSchema(name=name, rows=tuple(schema_rows(schema)))
        for name, schema in document.get("components", {}).get("schemas", {}).items()
    ]
    info = document["info"]
    return ApiPage(
        title=info["title"],
        version=info["version"],
        description=text(info.get("description", "")),
        operations=tuple(operations),
        schemas=tuple(schemas),
    )


@functools.cache
def _document_json() -> bytes:
    return orjson.dumps(openapi_document())


@functools.cache
def _page() -> ApiPage:
    return page_view(openapi_document())


async def openapi_json(request: Request) -> Response:
    """``GET /api/docs/openapi.json``: the OpenAPI document."""
    return Response(_document_json(), media_type="application/json")


async def api_docs(request: Request) -> Response:
    """``GET /api/docs``: the document rendered as an HTML page."""
    return render(request, "api_docs.html", {"api": _page()})
