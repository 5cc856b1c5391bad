"""Hold requests and responses to a vendor's published API specification (OpenAPI 3.0 or Swagger 2.0).

Why: a sandbox written from the same reading of an API as the connector proves nothing about the real API. With the
vendor's own spec (bundled under ``sandbox/specs/<vendor>/``, see its SOURCES.md), every request a connector sends
and every answer the sandbox serves in the tests is checked against the operation it belongs to.

API::

    spec = OpenApiSpec.load("beds24")            # "cloudbeds", "opera", "beds24"; parsed once per process
    spec.validate_request("GET", "/bookings", query={"arrivalFrom": "2024-01-01", "id": ["1", "2"]},
                          body=None, headers={"token": "..."})
    spec.validate_response("GET", "/bookings", 200, body)
    spec.request_violations(...) / spec.response_violations(...)   # the same checks, as a list of messages

``path`` is the path the vendor serves, with or without the spec's base path (``/v2``, ``/rsv/v1``,
``/api/v1.3``); path templates (``/hotels/{hotelId}/reservations``) are matched and their parameters validated.
``query`` maps a name to a string or a list of strings (repeated keys); values are coerced to the parameter's
schema type (integer, number, boolean, array by the parameter's style / collectionFormat) as a server would, so
``"12"`` passes ``type: integer`` and ``"yes"`` does not. Unknown query parameters, missing required ones (query,
path, and headers when ``headers`` is given), a body where none is documented and a body failing the request
schema are violations. ``validate_response`` checks the body against the schema documented for that status (or
``default``, or ``2XX``); a status the operation does not document is a violation only when ``strict_status``.
Every failure raises ``SpecViolation`` naming the vendor, the operation and the field (``data[0].rooms[1].adults:
2 is not of type 'string'``).

Why jsonschema (with ``referencing``): both dialects' schemas are JSON Schema draft-4 subsets, so one validator
handles Swagger 2 and OAS 3 alike; ``referencing`` resolves every ``$ref`` inside the whole spec document (the OPERA
spec alone has thousands) without inlining them; openapi-core/openapi-spec-validator would add a second, heavier
stack and do not read Swagger 2 request parameters. OAS 3.0's ``nullable: true`` (not JSON Schema) is rewritten to
``type: [T, "null"]`` (or ``anyOf`` with null for a ``$ref``/composite), and Swagger's ``x-nullable`` likewise;
``format`` is not asserted (the vendors' own examples break ``date-time``), ``readOnly``/``example`` are ignored.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft4Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

SPECS = Path(__file__).parent / "specs"
FILES = {"cloudbeds": "cloudbeds/pms-v1.3-openapi.yaml", "opera": "opera/rsv.json", "beds24": "beds24/apiV2.yaml"}
METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
_URI = "urn:hotel-pipeline:spec:"


class SpecViolation(AssertionError):
    """A request or response that does not follow the vendor's spec; the message names the field."""


@dataclass(frozen=True)
class Operation:
    """One documented operation: its method, path template and the pointer to it inside the spec."""

    method: str
    template: str
    pointer: str
    pattern: re.Pattern[str]

    @property
    def name(self) -> str:
        return f"{self.method.upper()} {self.template}"


def _nullable(node: Any) -> Any:
    """OAS 3.0 ``nullable`` / Swagger ``x-nullable`` -> JSON Schema (in place, recursively)."""
    if isinstance(node, list):
        for i, item in enumerate(node):
            node[i] = _nullable(item)
        return node
    if not isinstance(node, dict):
        return node
    for key, value in list(node.items()):
        node[key] = _nullable(value)
    flag = node.get("nullable") is True or node.get("x-nullable") is True
    if not flag:
        return node
    node.pop("nullable", None)
    node.pop("x-nullable", None)
    kind = node.get("type")
    if isinstance(kind, str) and "$ref" not in node and not any(k in node for k in ("allOf", "anyOf", "oneOf")):
        node["type"] = [kind, "null"]
        if "enum" in node:
            node["enum"] = [*node["enum"], None]
        return node
    return {"anyOf": [node, {"type": "null"}]}


_CHARACTER_RUNS = [(re.compile(r"[A-Z]+"), "A"), (re.compile(r"[a-z]+"), "a"), (re.compile(r"[0-9]+"), "1")]


@lru_cache(maxsize=1 << 18)
def _signature(text: str) -> str:
    """The character classes of a free string, runs collapsed ("Beatriz" -> "Aa", "C104" -> "A1",
    "2015-07-04" -> "1-1-1"): what a pattern or type sees of it, not which name, id or date it is. Cached: a
    validated extract shapes every string of every record, and dates, names and codes repeat across them."""
    for run, mark in _CHARACTER_RUNS:
        text = run.sub(mark, text)
    return text


def _shape(value: Any, words: frozenset[str]) -> Any:
    """What decides a value's validity against a schema: keys, types, nulls, booleans, enum words (kept verbatim),
    the character classes of other strings, integer or not; repeated entries of a list or of a dict keyed by ids
    or dates collapse into one."""
    if isinstance(value, dict):
        return ("{", frozenset((key if key in words else _signature(str(key)), _shape(item, words))
                               for key, item in value.items()))
    if isinstance(value, list):
        return ("[", frozenset(_shape(item, words) for item in value), len(value) > 0)
    if isinstance(value, str):
        return value if value in words else ("s", _signature(value))
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return 1
    return 1.5 if isinstance(value, float) else repr(type(value))


def _distinct(value: Any, positions: dict[int, list[int]], words: frozenset[str] = frozenset(),
              seen: set[Any] | None = None, at: str = "") -> Any:
    """``value`` with the records of each list kept once per shape (see ``_shape``): a page of 200 reservations
    rendered alike is validated in a few shapes, not 200 times. ``positions`` maps each kept list to the original
    index of every element it keeps, for error paths. ``seen`` (shapes of records already validated at the same
    place of earlier bodies) extends the same rule across bodies."""
    seen = set() if seen is None else seen
    if isinstance(value, dict):
        return {k: _distinct(v, positions, words, seen, f"{at}/{k}") for k, v in value.items()}
    if not isinstance(value, list):
        return value
    kept, where = [], []
    for index, item in enumerate(value):
        key = (at, _shape(item, words)) if isinstance(item, dict | list) else None
        if key is not None and key in seen:
            continue
        if key is not None:
            seen.add(key)
        kept.append(_distinct(item, positions, words, seen, at + "/*"))
        where.append(index)
    positions[id(kept)] = where
    return kept


def _enum_words(node: Any) -> frozenset[str]:
    """Every string an ``enum`` of the document names: the words a shape keeps verbatim."""
    words: set[str] = set()
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, dict):
            words.update(str(v) for v in current.get("enum") or [] if isinstance(v, str))
            stack.extend(current.values())
        elif isinstance(current, list):
            stack.extend(current)
    return frozenset(words)


def _original_path(distinct: Any, path: list[Any], positions: dict[int, list[int]]) -> list[Any]:
    out, node = [], distinct
    for part in path:
        if isinstance(node, list) and isinstance(part, int):
            out.append(positions.get(id(node), list(range(len(node))))[part])
        else:
            out.append(part)
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            node = None
    return out


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _where(path: Iterable[Any]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


class OpenApiSpec:
    """A vendor's spec, ready to validate requests and responses (see the module docstring)."""

    def __init__(self, vendor: str, document: dict[str, Any]) -> None:
        self.vendor = vendor
        self.swagger2 = str(document.get("swagger", "")).startswith("2")
        self.document = _nullable(copy.deepcopy(document))
        self.uri = _URI + vendor
        resource = Resource.from_contents(self.document, default_specification=DRAFT4)
        self.registry: Registry = Registry().with_resource(self.uri, resource)
        self.base_path = self._base_path()
        self.operations = self._operations()
        self._validators: dict[str, Draft4Validator] = {}
        self.enum_words = _enum_words(self.document)

    # -- loading -----------------------------------------------------------------------------------------------
    @classmethod
    def load(cls, vendor: str) -> OpenApiSpec:
        """The bundled spec of ``vendor`` (parsed once per process)."""
        return _load(vendor)

    def _base_path(self) -> str:
        if self.swagger2:
            return str(self.document.get("basePath") or "").rstrip("/")
        servers = self.document.get("servers") or [{}]
        url = str(servers[0].get("url") or "")
        return "/" + re.sub(r"^[a-z]+://[^/]+", "", url).strip("/") if url.strip("/") else ""

    def _operations(self) -> list[Operation]:
        ops = []
        for template, item in (self.document.get("paths") or {}).items():
            if not template.startswith("/"):
                continue  # e.g. Beds24's "Webhooks - bookings": prose, not an operation
            pieces = re.split(r"\{[^}]+\}", template.rstrip("/") or "/")
            regex = re.compile("^" + "([^/]+)".join(re.escape(piece) for piece in pieces) + "/?$")
            for method in METHODS:
                if method in item:
                    pointer = f"/paths/{_escape(template)}/{method}"
                    ops.append(Operation(method, template, pointer, regex))
        # literal paths before templated ones (``/reservations/summary`` before ``/reservations/{id}``)
        ops.sort(key=lambda op: (op.template.count("{"), -len(op.template)))
        return ops

    # -- lookup --------------------------------------------------------------------------------------------------
    def operation(self, method: str, path: str) -> tuple[Operation, dict[str, str]]:
        """The operation serving ``method path`` and its path parameters; SpecViolation when none is documented."""
        relative = path.split("?", 1)[0]
        if self.base_path and relative.startswith(self.base_path + "/"):
            relative = relative[len(self.base_path):]
        relative = relative.rstrip("/") or "/"
        for op in self.operations:
            if op.method != method.lower():
                continue
            match = op.pattern.match(relative)
            if match:
                names = re.findall(r"\{([^}]+)\}", op.template)
                values = dict(zip(names, match.groups(), strict=True))
                return op, values
        raise SpecViolation(f"{self.vendor}: the spec documents no operation {method.upper()} {path}")

    def _node(self, pointer: str) -> Any:
        node: Any = self.document
        for token in pointer.strip("/").split("/"):
            token = token.replace("~1", "/").replace("~0", "~")
            node = node[int(token)] if isinstance(node, list) else node[token]
        return node

    def _deref(self, node: Any) -> Any:
        while isinstance(node, dict) and "$ref" in node and str(node["$ref"]).startswith("#/"):
            node = self._node(node["$ref"][1:])
        return node

    def _validator(self, pointer: str) -> Draft4Validator:
        if pointer not in self._validators:
            self._validators[pointer] = Draft4Validator({"$ref": f"{self.uri}#{pointer}"}, registry=self.registry)
        return self._validators[pointer]

    def _schema_errors(self, pointer: str, value: Any, what: str, seen: set[Any] | None = None) -> list[str]:
        positions: dict[int, list[int]] = {}
        distinct = _distinct(value, positions, self.enum_words, seen, pointer)
        errors = sorted(self._validator(pointer).iter_errors(distinct), key=lambda e: [str(p) for p in e.path])
        out = []
        for err in errors[:20]:
            deepest = min(err.context or [err], key=lambda e: -len(e.absolute_path)) if err.context else err
            where = _where(_original_path(distinct, list(deepest.absolute_path), positions))
            out.append(f"{what}{' ' + where if where else ''}: {deepest.message[:300]}")
        return list(dict.fromkeys(out))

    def _parameters(self, op: Operation) -> list[tuple[dict[str, Any], str]]:
        """(parameter, pointer) for the operation, path-level parameters first, operation-level overriding."""
        found: dict[tuple[str, str], tuple[dict[str, Any], str]] = {}
        item_pointer = op.pointer.rsplit("/", 1)[0]
        for base in (item_pointer, op.pointer):
            for i, raw in enumerate(self._node(base).get("parameters") or []):
                pointer = f"{base}/parameters/{i}"
                if isinstance(raw, dict) and "$ref" in raw:
                    pointer = raw["$ref"][1:]
                param = self._deref(raw)
                found[(param.get("in", ""), param.get("name", ""))] = (param, pointer)
        return list(found.values())

    # -- requests ------------------------------------------------------------------------------------------------
    def request_violations(self, method: str, path: str, query: Mapping[str, Any] | None = None,
                           body: Any = None, headers: Mapping[str, str] | None = None) -> list[str]:
        """Every way a request breaks the spec ([] when it follows it)."""
        try:
            op, path_values = self.operation(method, path)
        except SpecViolation as err:
            return [str(err)]
        query = {k: (list(v) if isinstance(v, list | tuple) else [v]) for k, v in (query or {}).items()}
        lowered = {k.lower(): v for k, v in (headers or {}).items()}
        out: list[str] = []
        known_query = set()
        body_param: tuple[dict[str, Any], str] | None = None
        for param, pointer in self._parameters(op):
            where, name = param.get("in"), str(param.get("name"))
            if where == "body":
                body_param = (param, pointer)
                continue
            if where == "query":
                known_query.add(name)
                given = query.get(name)
            elif where == "path":
                given = [path_values[name]] if name in path_values else None
            elif where == "header" and headers is not None:
                given = [lowered[name.lower()]] if name.lower() in lowered else None
            else:
                continue
            if given is None:
                if param.get("required"):
                    out.append(f"{where} parameter {name!r} is required")
                continue
            schema_pointer = pointer if self.swagger2 else pointer + "/schema"
            schema = param if self.swagger2 else self._deref(param.get("schema") or {})
            value = self._coerce(self._deref(schema), given, param)
            if self.swagger2:
                value_errors = self._inline_errors(param, value, f"{where} parameter {name!r}")
            else:
                value_errors = self._schema_errors(schema_pointer, value, f"{where} parameter {name!r}")
            out.extend(value_errors)
        for name in query:
            if name not in known_query:
                out.append(f"query parameter {name!r} is not documented for {op.name}")
        out.extend(self._body_violations(op, body, body_param))
        return [f"{self.vendor} {op.name} request: {m}" for m in out]

    def _inline_errors(self, param: dict[str, Any], value: Any, what: str) -> list[str]:
        """Swagger 2 non-body parameters carry their schema keywords inline."""
        keys = ("type", "items", "enum", "format", "minimum", "maximum", "maxLength", "minLength", "pattern",
                "maxItems", "minItems", "exclusiveMinimum", "exclusiveMaximum")
        schema = {k: param[k] for k in keys if k in param}
        schema.pop("format", None)
        if schema.get("type") == "file":
            return []
        errors = sorted(Draft4Validator(schema, registry=self.registry).iter_errors(value), key=lambda e: e.path)
        return [f"{what}{' ' + _where(e.absolute_path) if e.absolute_path else ''}: {e.message[:300]}"
                for e in errors]

    def _coerce(self, schema: dict[str, Any], given: list[str], param: dict[str, Any]) -> Any:
        """The query/path/header strings as the typed value a server would read."""
        kind = schema.get("type")
        if kind == "array":
            items: list[str] = []
            fmt = param.get("collectionFormat", "csv") if self.swagger2 else None
            explode = param.get("explode", param.get("style", "form") == "form") if not self.swagger2 else None
            for text in given:
                if (self.swagger2 and fmt != "multi") or (not self.swagger2 and not explode):
                    sep = {"csv": ",", "ssv": " ", "tsv": "\t", "pipes": "|"}.get(fmt or "csv", ",")
                    items.extend(text.split(sep))
                else:
                    items.append(text)
            item_schema = self._deref(schema.get("items") or {})
            return [self._scalar(item_schema.get("type"), text) for text in items]
        return self._scalar(kind, given[-1] if len(given) == 1 else given[-1])

    @staticmethod
    def _scalar(kind: Any, text: str) -> Any:
        if kind == "integer" and re.fullmatch(r"-?\d+", text or ""):
            return int(text)
        if kind == "number":
            try:
                return float(text)
            except ValueError:
                return text
        if kind == "boolean" and text in ("true", "false"):
            return text == "true"
        return text

    def _body_violations(self, op: Operation, body: Any, body_param: tuple[dict[str, Any], str] | None) -> list[str]:
        if self.swagger2:
            if body_param is None:
                return [] if body is None else [f"a body was sent but {op.name} documents none"]
            param, pointer = body_param
            if body is None:
                return ["a request body is required"] if param.get("required") else []
            return self._schema_errors(pointer + "/schema", body, "body")
        request_body = self._node(op.pointer).get("requestBody")
        if request_body is None:
            return [] if body is None else [f"a body was sent but {op.name} documents none"]
        pointer = op.pointer + "/requestBody"
        if "$ref" in request_body:
            pointer = request_body["$ref"][1:]
            request_body = self._deref(request_body)
        if body is None:
            return ["a request body is required"] if request_body.get("required") else []
        content = request_body.get("content") or {}
        ctype = next((c for c in content if "json" in c), None) or next(iter(content), None)
        if ctype is None or "schema" not in content[ctype]:
            return []
        return self._schema_errors(f"{pointer}/content/{_escape(ctype)}/schema", body, "body")

    def validate_request(self, method: str, path: str, query: Mapping[str, Any] | None = None,
                         body: Any = None, headers: Mapping[str, str] | None = None) -> None:
        """Raise SpecViolation unless the request follows the operation's parameters and request body."""
        problems = self.request_violations(method, path, query, body, headers)
        if problems:
            raise SpecViolation("\n".join(problems))

    # -- responses -----------------------------------------------------------------------------------------------
    def response_violations(self, method: str, path: str, status: int, body: Any,
                            strict_status: bool = False, seen: set[Any] | None = None) -> list[str]:
        """Every way a response body breaks the schema documented for ``status`` ([] when it follows it).

        With ``seen`` (one set kept across calls), a record alike one validated by an earlier call is not validated
        again: a whole extract's responses cost what their distinct records cost, and each breach is still reported
        once, at its first appearance."""
        try:
            op, _ = self.operation(method, path)
        except SpecViolation as err:
            return [str(err)]
        responses = self._node(op.pointer).get("responses") or {}
        key = next((k for k in (str(status), f"{str(status)[0]}XX", f"{str(status)[0]}xx", "default")
                    if k in responses), None)
        prefix = f"{self.vendor} {op.name} response {status}"
        if key is None:
            return [f"{prefix}: status {status} is not documented"] if strict_status else []
        pointer = f"{op.pointer}/responses/{_escape(key)}"
        response = responses[key]
        if "$ref" in response:
            pointer = response["$ref"][1:]
            response = self._deref(response)
        if self.swagger2:
            if "schema" not in response:
                return []
            schema_pointer = pointer + "/schema"
        else:
            content = response.get("content") or {}
            ctype = next((c for c in content if "json" in c), None)
            if ctype is None or "schema" not in content[ctype]:
                return []
            schema_pointer = f"{pointer}/content/{_escape(ctype)}/schema"
        return [f"{prefix}: {m}" for m in self._schema_errors(schema_pointer, body, "body", seen)]

    def validate_response(self, method: str, path: str, status: int, body: Any, strict_status: bool = False) -> None:
        """Raise SpecViolation unless ``body`` follows the schema documented for ``status`` of the operation."""
        problems = self.response_violations(method, path, status, body, strict_status)
        if problems:
            raise SpecViolation("\n".join(problems))


@cache
def _load(vendor: str) -> OpenApiSpec:
    if vendor not in FILES:
        raise KeyError(f"no bundled spec for {vendor!r}; known: {sorted(FILES)}")
    path = SPECS / FILES[vendor]
    text = path.read_text(encoding="utf-8")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    if path.suffix == ".json":
        document = json.loads(text)
    else:  # YAML keys such as ``200:`` load as ints and examples as dates: make it the JSON document it describes
        document = _as_json(yaml.load(text, Loader=loader))  # noqa: S506 - a safe loader
    return OpenApiSpec(vendor, document)


def _as_json(node: Any) -> Any:
    """A YAML value as the JSON value it stands for (string keys, dates as ISO strings)."""
    if isinstance(node, dict):
        return {str(k) if not hasattr(k, "isoformat") else k.isoformat(): _as_json(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_as_json(v) for v in node]
    if hasattr(node, "isoformat"):
        return node.isoformat()
    return node


def spec_vendors() -> tuple[str, ...]:
    """The vendors whose spec is bundled."""
    return tuple(FILES)
