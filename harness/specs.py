"""The interface specifications: load `specs/` into one registry, apply a province profile, validate.

Every JSON file under `specs/<version>/` and `specs/profiles/` is read once. Schemas (files with a
`$id`) are keyed by `$id`, and every `$ref` between them is resolved locally: nothing is fetched.
A province profile is a set of deviations from the national baseline (code-list variants, schema
overrides, fields required for cross-region business); applying one yields a `MessageValidator`
whose jsonschema-rs validators are compiled lazily, once per interface and direction.

This is the only module that imports jsonschema-rs. Errors become `harness.model.SchemaViolation`
values carrying the JSON pointer, the field's clause, expected versus actual and its 中文 name.
"""

from __future__ import annotations

import copy
import json
import os
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag, urljoin

import jsonschema_rs

from harness.errors import SpecError
from harness.model import SchemaViolation

__all__ = [
    "DEFAULT_VERSION",
    "SPECS_ENV",
    "Cause",
    "CodeList",
    "FieldSpec",
    "InterfaceSpec",
    "MessageValidator",
    "Profile",
    "Rule",
    "SpecRegistry",
    "default_root",
    "load_registry",
]

DEFAULT_VERSION = "v1.1.27"
SPECS_ENV = "HSA_CERT_SPECS"
DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"
_COMBINATORS = ("allOf", "anyOf", "oneOf")
_ANNOTATIONS = ("title", "x-clause", "x-code")
_JSON_TYPE_NAMES = {str: "string", bool: "boolean", int: "integer", float: "number", list: "array", dict: "object"}


# --- small JSON helpers -----------------------------------------------------------------------


def _read_json(path: Path) -> Any:
    """Read a UTF-8 JSON file (a BOM is tolerated); a problem is a SpecError naming the file."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise SpecError("Cannot read a spec file", location=str(path), detail=str(exc)) from exc
    except UnicodeDecodeError as exc:
        raise SpecError("A spec file is not UTF-8", location=str(path), detail=str(exc)) from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise SpecError(
            "A spec file is not valid JSON",
            location=f"{path}:{exc.lineno}:{exc.colno}",
            detail=exc.msg,
            hint="fix the JSON syntax at the given line and column",
        ) from exc


def deep_merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """Merge `over` into a copy of `base`: dicts merge recursively, everything else (lists too) replaces."""
    merged = copy.deepcopy(dict(base))
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def _escape(token: str | int) -> str:
    return str(token).replace("~", "~0").replace("/", "~1")


def pointer_of(parts: Sequence[str | int]) -> str:
    """RFC 6901 JSON pointer of a path given as its parts."""
    return "".join("/" + _escape(p) for p in parts)


def resolve_pointer(doc: Any, pointer: str) -> Any:
    """The value at an RFC 6901 pointer; KeyError when it does not exist."""
    node = doc
    if pointer == "":
        return node
    if not pointer.startswith("/"):
        raise KeyError(pointer)
    for raw in pointer[1:].split("/"):
        token = _unescape(raw)
        if isinstance(node, list):
            if not token.isdigit() or int(token) >= len(node):
                raise KeyError(pointer)
            node = node[int(token)]
        elif isinstance(node, dict) and token in node:
            node = node[token]
        else:
            raise KeyError(pointer)
    return node


def json_type_name(value: Any) -> str:
    if value is None:
        return "null"
    return _JSON_TYPE_NAMES.get(type(value), type(value).__name__)


def _short(value: Any, limit: int = 60) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- value objects ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One field of an interface node, as the spec table gives it."""

    direction: str  # "in" | "out"
    node: str
    name: str
    title_zh: str
    clause: str
    json_type: str  # string | number | integer | boolean | object | array (without null)
    max_length: int | None
    required: bool
    code: str | None  # code-list (dictionary) name
    nullable: bool
    pointer: str  # JSON pointer of the field's schema within the interface file
    format: str | None = None  # date | datetime | money | price | qty | ratio | age … (the types.json def)
    digits: tuple[int, int] | None = None  # (precision, scale) of numbers, from x-digits


@dataclass(frozen=True, slots=True)
class CodeList:
    name: str
    title_zh: str
    values: tuple[str, ...]
    labels: Mapping[str, str]
    variants: Mapping[str, tuple[str, ...]]
    schema_id: str


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    title_zh: str
    title_en: str
    text: str
    source: str


@dataclass(frozen=True, slots=True)
class Cause:
    id: str
    clause: str
    title_zh: str
    title_en: str
    applies_to: tuple[str, ...]



# --- schema navigation ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _At:
    """A schema at a known place: the `$id` of its document and its JSON pointer there."""

    doc: str
    ptr: str
    schema: Any


class _Schemas:
    """Read-only navigation over a set of schema documents keyed by `$id` (refs resolved locally).

    Used to find, for an instance location, the field schema that governs it: its clause, its
    中文 title and the constraints to quote as "expected".
    """

    def __init__(self, docs: Mapping[str, Any]) -> None:
        self.docs = docs

    def get(self, uri: str) -> _At | None:
        url, fragment = urldefrag(uri)
        doc = self.docs.get(url)
        if doc is None:
            return None
        try:
            return _At(url, fragment, resolve_pointer(doc, fragment))
        except KeyError:
            return None

    def deref(self, at: _At) -> _At | None:
        ref = at.schema.get("$ref") if isinstance(at.schema, Mapping) else None
        return self.get(urljoin(at.doc, ref)) if isinstance(ref, str) else None

    def expand(self, at: _At) -> list[_At]:
        """The schema and every schema it pulls in through $ref and allOf/anyOf/oneOf, outermost first."""
        views: list[_At] = []
        queue = [at]
        seen: set[tuple[str, str]] = set()
        while queue:
            cur = queue.pop(0)
            if (cur.doc, cur.ptr) in seen or not isinstance(cur.schema, Mapping):
                continue
            seen.add((cur.doc, cur.ptr))
            views.append(cur)
            target = self.deref(cur)
            if target is not None:
                queue.append(target)
            for keyword in _COMBINATORS:
                for i, branch in enumerate(cur.schema.get(keyword, ())):
                    queue.append(_At(cur.doc, f"{cur.ptr}/{keyword}/{i}", branch))
        return views

    def child(self, at: _At, key: str | int) -> _At | None:
        """The subschema that governs `instance[key]` where `at` governs `instance`."""
        for view in self.expand(at):
            schema = view.schema
            if isinstance(key, int):
                prefix = schema.get("prefixItems")
                if isinstance(prefix, list) and key < len(prefix):
                    return _At(view.doc, f"{view.ptr}/prefixItems/{key}", prefix[key])
                if isinstance(schema.get("items"), Mapping):
                    return _At(view.doc, f"{view.ptr}/items", schema["items"])
            else:
                props = schema.get("properties")
                if isinstance(props, Mapping) and key in props:
                    return _At(view.doc, f"{view.ptr}/properties/{_escape(key)}", props[key])
        return None

    def walk(self, start: _At, parts: Sequence[str | int]) -> _At | None:
        at: _At | None = start
        for part in parts:
            if at is None:
                return None
            at = self.child(at, part)
        return at

    def follow(self, start: _At, evaluation_path: Sequence[str | int]) -> _At | None:
        """Follow an evaluation path (keywords, $ref included) to the schema value it ends at."""
        at: _At | None = start
        for token in evaluation_path:
            if at is None:
                return None
            if token == "$ref":
                at = self.deref(at)
            elif isinstance(at.schema, Mapping) and token in at.schema:
                at = _At(at.doc, f"{at.ptr}/{_escape(token)}", at.schema[token])
            elif isinstance(at.schema, list) and isinstance(token, int) and token < len(at.schema):
                at = _At(at.doc, f"{at.ptr}/{token}", at.schema[token])
            else:
                return None
        return at

    def annotations(self, at: _At) -> dict[str, Any]:
        """title / x-clause / x-code of a location; the outermost schema wins (the field over its $ref)."""
        found: dict[str, Any] = {}
        for view in self.expand(at):
            for key in _ANNOTATIONS:
                if key in view.schema:
                    found.setdefault(key, view.schema[key])
        return found

    def describe(self, at: _At) -> str:
        """A short human description of what a schema accepts, e.g. 'string ≤30 characters or null'."""
        if isinstance(at.schema, list):  # the value of anyOf / oneOf
            return " or ".join(self.describe(_At(at.doc, f"{at.ptr}/{i}", s)) for i, s in enumerate(at.schema))
        parts: list[str] = []
        for view in self.expand(at):
            schema = view.schema
            if "enum" in schema:
                parts.append(_describe_enum(schema["enum"], schema.get("x-dict")))
            if "const" in schema:
                parts.append(f"exactly {_short(schema['const'])}")
            if "type" in schema and "enum" not in schema:
                types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
                text = " or ".join(types)
                if "x-digits" in schema:
                    text += f" ({schema['x-digits'][0]},{schema['x-digits'][1]})"
                parts.append(text)
            if "maxLength" in schema:
                parts.append(f"≤{schema['maxLength']} characters")
            if "pattern" in schema:
                parts.append(f"matching {schema['pattern']}")
            if "format" in schema:
                parts.append(f"format {schema['format']}")
            if "required" in schema and "properties" not in schema:  # e.g. anyOf: [{required: [a]}, {required: [b]}]
                parts.append("with " + " and ".join(schema["required"]))
            for keyword in ("anyOf", "oneOf"):
                if keyword in schema:
                    branches = schema[keyword]
                    text = self.describe(_At(view.doc, f"{view.ptr}/{keyword}", branches))
                    parts.append(f"({text})" if len(branches) > 1 and len(parts) else text)
        unique = list(dict.fromkeys(parts))
        return ", ".join(unique) if unique else "any value"


def _describe_enum(values: Sequence[Any], dict_name: str | None = None, limit: int = 12) -> str:
    if values and all(v in ("", None) for v in values):
        return "empty (" + " or ".join(_short(v) for v in values) + ")"
    shown = ", ".join(_short(v) if not isinstance(v, str) or v == "" else v for v in values[:limit])
    more = f", … ({len(values)} codes)" if len(values) > limit else ""
    where = f" of code list {dict_name}" if dict_name else ""
    return f"one{where or ' of'}: {shown}{more}" if values else "no value (empty code list)"


def _path_key(parts: Sequence[str | int]) -> tuple[tuple[int, int, str], ...]:
    return tuple((0, p, "") if isinstance(p, int) else (1, 0, p) for p in parts)


class _Compiler:
    """jsonschema-rs validators over one set of documents, compiled on first use and cached."""

    def __init__(self, docs: Mapping[str, Any], label: str) -> None:
        self.schemas = _Schemas(docs)
        self._label = label
        self._registry: Any = None
        self._validators: dict[str, tuple[Any, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def _rs_registry(self) -> Any:
        if self._registry is None:
            try:
                self._registry = jsonschema_rs.Registry(list(self.schemas.docs.items()))
            except Exception as exc:  # jsonschema-rs raises ReferencingError / ValueError
                raise SpecError(f"The schemas of {self._label} cannot be registered", detail=str(exc)) from exc
        return self._registry

    def validator(self, ref: str) -> tuple[Any, dict[str, Any]]:
        """The compiled validator for an absolute schema reference, and the wrapper schema it was built from."""
        hit = self._validators.get(ref)
        if hit is not None:
            return hit
        with self._lock:
            hit = self._validators.get(ref)
            if hit is None:
                wrapper = {"$schema": DRAFT_2020_12, "$ref": ref}
                try:
                    compiled = jsonschema_rs.validator_for(
                        wrapper, registry=self._rs_registry(), validate_formats=True
                    )
                except SpecError:
                    raise
                except Exception as exc:
                    raise SpecError(
                        f"Schema {ref} does not compile ({self._label})",
                        detail=str(exc),
                        location=ref,
                        hint="check the $ref targets and keywords of this schema",
                    ) from exc
                hit = (compiled, wrapper)
                self._validators[ref] = hit
        return hit

    def is_valid(self, ref: str, instance: Any) -> bool:
        return bool(self.validator(ref)[0].is_valid(instance))

    def violations(
        self, ref: str, instance: Any, prefix: tuple[str, ...], fallback_clause: Any
    ) -> list[SchemaViolation]:
        """Every error of `instance` against `ref`, as violations sorted by path."""
        compiled, wrapper = self.validator(ref)
        start = self.schemas.get(ref)
        root = _At("", "", wrapper)
        found: dict[tuple[Any, ...], SchemaViolation] = {}
        for err in compiled.iter_errors(instance):
            parts: list[str | int] = list(err.instance_path)
            kind = err.kind
            if kind.name == "required":
                parts.append(kind.property)
            field_at = self.schemas.walk(start, parts) if start is not None else None
            notes = self.schemas.annotations(field_at) if field_at is not None else {}
            clause = notes.get("x-clause") or fallback_clause(parts)
            keyword_at = self.schemas.follow(root, list(err.evaluation_path))
            message, expected, actual = self._explain(err, keyword_at, field_at)
            violation = SchemaViolation(
                path=pointer_of((*prefix, *parts)),
                clause=clause,
                message=message,
                expected=expected,
                actual=actual,
                field_zh=notes.get("title", ""),
            )
            found.setdefault((tuple(_path_key(parts)), clause, message, expected, actual), violation)
        return [found[k] for k in sorted(found)]

    def _explain(self, err: Any, keyword_at: _At | None, field_at: _At | None) -> tuple[str, str, str]:
        """(message, expected, actual) for one jsonschema-rs error."""
        kind = err.kind
        name = kind.name
        value = err.instance
        schemas = self.schemas
        if name == "required":
            expected = "present"
            if field_at is not None:
                expected = f"present ({schemas.describe(field_at)})"
            return "required field is missing", expected, "missing"
        if name == "maxLength":
            return "too long", f"maxLength {kind.limit}", f"{len(value)} characters"
        if name == "minLength":
            return "too short", f"minLength {kind.limit}", f"{len(value)} characters"
        if name == "type":
            return "wrong type", "type " + " or ".join(kind.types), f"{json_type_name(value)} {_short(value)}"
        if name == "enum":
            dict_name = None
            if field_at is not None:
                dict_name = schemas.annotations(field_at).get("x-code")
            return "not in the code list", _describe_enum(kind.options, dict_name), _short(value)
        if name == "pattern":
            return "does not match the required pattern", f"pattern {kind.pattern}", _short(value)
        if name == "format":
            return f"not a valid {kind.format}", f"format {kind.format}", _short(value)
        if name in ("anyOf", "oneOf") and keyword_at is not None:
            code = schemas.annotations(field_at).get("x-code") if field_at is not None else None
            if code:
                return "not in the code list", schemas.describe(keyword_at), _short(value)
            typed = f"{json_type_name(value)} {_short(value)}"
            return "matches none of the allowed forms", schemas.describe(keyword_at), typed
        if name in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
            return err.message, f"{name} {kind.limit}", _short(value)
        if name == "const":
            return "wrong value", f"exactly {_short(kind.expected_value)}", _short(value)
        return err.message, "", _short(value)


# --- interfaces and profiles ------------------------------------------------------------------


class InterfaceSpec:
    """One transaction code (infno): its names, its nodes and the fields of each node."""

    def __init__(self, schemas: _Schemas, schema: Mapping[str, Any], path: Path) -> None:
        defs = schema.get("$defs")
        for key in ("x-infno", "title"):
            if key not in schema:
                raise SpecError(f"Interface schema lacks {key!r}", location=str(path))
        if not isinstance(defs, Mapping) or "input" not in defs or "output" not in defs:
            raise SpecError("Interface schema needs $defs.input and $defs.output", location=str(path))
        self._schemas = schemas
        self.schema: Mapping[str, Any] = schema
        self.path = path
        self.schema_id: str = schema["$id"]
        self.infno: str = str(schema["x-infno"])
        self.title_zh: str = schema["title"]
        self.name_en: str = schema.get("x-name-en", "")
        self.area: str = schema.get("x-area", "")
        self.source: str = schema.get("x-source", "")
        self.state_changing: bool = bool(schema.get("x-state-changing", False))
        self.input_nodes: dict[str, str] = dict(schema.get("x-input-nodes") or {})
        self.output_nodes: dict[str, str] = dict(schema.get("x-output-nodes") or {})
        self._fields: dict[str, tuple[FieldSpec, ...]] = {}

    def __repr__(self) -> str:
        return f"InterfaceSpec({self.infno} {self.title_zh})"

    @property
    def input_ref(self) -> str:
        return f"{self.schema_id}#/$defs/input"

    @property
    def output_ref(self) -> str:
        return f"{self.schema_id}#/$defs/output"

    def fields(self, direction: str) -> list[FieldSpec]:
        """Fields of every input ("in") or output ("out") node, in node order then table order."""
        direction = {"input": "in", "output": "out"}.get(direction, direction)
        if direction not in ("in", "out"):
            raise ValueError(f"direction must be 'in' or 'out', not {direction!r}")
        if direction not in self._fields:
            self._fields[direction] = tuple(self._collect(direction))
        return list(self._fields[direction])

    def _collect(self, direction: str) -> list[FieldSpec]:
        nodes = self.input_nodes if direction == "in" else self.output_nodes
        ref = self.input_ref if direction == "in" else self.output_ref
        root = self._schemas.get(ref)
        found: list[FieldSpec] = []
        for node, shape in nodes.items():
            # "root": the node's fields sit directly in input/output (9101's output has no node name)
            parts: list[str | int] = {"array": [node, 0], "root": []}.get(shape, [node])
            node_at = self._schemas.walk(root, parts) if root is not None else None
            if node_at is None:
                continue
            for view in self._schemas.expand(node_at):
                props = view.schema.get("properties")
                if not isinstance(props, Mapping):
                    continue
                required = set(view.schema.get("required", ()))
                for name, sub in props.items():
                    at = _At(view.doc, f"{view.ptr}/properties/{_escape(name)}", sub)
                    found.append(self._field(direction, node, name, at, name in required))
                break
        return found

    def _field(self, direction: str, node: str, name: str, at: _At, required: bool) -> FieldSpec:
        views = self._schemas.expand(at)
        notes = self._schemas.annotations(at)
        types: list[str] = []
        nullable = False
        max_length = digits = fmt = code = None
        for view in views:
            schema = view.schema
            declared = schema.get("type", [])
            for t in declared if isinstance(declared, list) else [declared]:
                if t == "null":
                    nullable = True
                elif t not in types:
                    types.append(t)
            if any(v is None for v in schema.get("enum", ())):
                nullable = True
            max_length = max_length if max_length is not None else schema.get("maxLength")
            if digits is None and "x-digits" in schema:
                digits = tuple(schema["x-digits"])
            if fmt is None and view.doc.endswith("/types.json") and view.ptr.startswith("/$defs/"):
                fmt = view.ptr.rsplit("/", 1)[-1]
            code = code or schema.get("x-dict")
        return FieldSpec(
            direction=direction,
            node=node,
            name=name,
            title_zh=notes.get("title", ""),
            clause=notes.get("x-clause", f"{self.infno}.{direction}.{node}.{name}"),
            json_type=types[0] if types else "string",
            max_length=max_length,
            required=required,
            code=notes.get("x-code") or code,
            nullable=nullable,
            pointer=at.ptr if at.doc == self.schema_id else "",
            format=fmt,
            digits=digits,  # type: ignore[arg-type]
        )


class Profile:
    """A province profile, merged over its `extends` chain (`raw` is the merged dict)."""

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.raw: dict[str, Any] = dict(raw)
        self.id: str = str(raw["id"])
        self.title_zh: str = raw.get("title_zh", "")
        self.title_en: str = raw.get("title_en", "")

    def __repr__(self) -> str:
        return f"Profile({self.id})"

    def _get(self, key: str, default: Any) -> Any:
        value = self.raw.get(key)
        return default if value is None else value

    @property
    def spec_version(self) -> str | None:
        return self.raw.get("spec_version")

    @property
    def infver(self) -> str:
        return str(self._get("infver", "V1.0"))

    @property
    def recer_sys_code(self) -> str:
        return str(self._get("recer_sys_code", ""))

    @property
    def ext_field_name(self) -> str:
        return str(self._get("ext_field_name", "exp_content"))

    @property
    def gateway(self) -> dict[str, Any]:
        return dict(self._get("gateway", {"family": "none"}))

    @property
    def transport(self) -> dict[str, Any]:
        return dict(self._get("transport", {}))

    @property
    def require_sign_in(self) -> bool:
        return bool(self._get("require_sign_in", True))

    @property
    def code_variants(self) -> dict[str, str]:
        return dict(self._get("code_variants", {}))

    @property
    def cross_region_required(self) -> dict[str, tuple[str, ...]]:
        return {str(k): tuple(v) for k, v in self._get("cross_region_required", {}).items()}

    @property
    def reversible_by_2601(self) -> tuple[str, ...]:
        return tuple(str(x) for x in self._get("reversible_by_2601", ()))

    @property
    def err_msg_patterns(self) -> dict[str, tuple[str, ...]]:
        return {k: tuple(v) for k, v in self._get("err_msg_patterns", {}).items()}

    @property
    def extra_fields(self) -> dict[str, Any]:
        return dict(self._get("extra_fields", {}))

    @property
    def input_node_aliases(self) -> dict[str, dict[str, str]]:
        """infno -> {spec node: the province's name for it}; messages may use either name."""
        return {str(k): dict(v) for k, v in self._get("input_node_aliases", {}).items()}

    @property
    def schema_overrides(self) -> list[dict[str, Any]]:
        return list(self._get("schema_overrides", []))


# --- the registry -----------------------------------------------------------------------------


class SpecRegistry:
    """Every schema, code list, rule and profile of one spec version, keyed by `$id`."""

    def __init__(self, root: Path, version: str = DEFAULT_VERSION) -> None:
        self.root = root
        self.version = version
        self.version_dir = root / version
        if not self.version_dir.is_dir():
            raise SpecError(
                f"Spec version folder {version!r} not found",
                location=str(self.version_dir),
                hint=f"point {SPECS_ENV} at the specs/ folder of a checkout, or choose an existing version",
            )
        self._docs: dict[str, Any] = {}  # $id -> schema document
        self._files: dict[str, Path] = {}  # $id -> file it came from
        self._aliases: dict[str, str] = {}  # relative path (to the version folder or to specs/) -> $id
        self._data: dict[str, tuple[Any, Path]] = {}  # version-relative path -> non-schema document
        self._profile_files: dict[str, tuple[dict[str, Any], Path]] = {}
        profiles_dir = root / "profiles"
        files = [*sorted(self.version_dir.rglob("*.json")), *sorted(profiles_dir.glob("*.json"))]
        for path in [*files, *sorted(root.glob("*.json"))]:  # root: e.g. scenario.schema.json
            self._add(path, in_profiles=path.parent == profiles_dir)
        self._schemas = _Schemas(self._docs)
        self._interfaces = self._load_interfaces()
        self._code_lists = {cl.name: cl for cl in self._load_code_lists()}
        self._rules, self._causes = self._load_rules()
        self._profiles: dict[str, Profile] = {}
        self._validators: dict[str, MessageValidator] = {}
        self._plain: _Compiler | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"SpecRegistry({self.root}, {self.version})"

    # loading

    def _add(self, path: Path, *, in_profiles: bool) -> None:
        doc = _read_json(path)
        rel = path.relative_to(self.root).as_posix()
        if isinstance(doc, dict) and "$id" in doc:
            sid = doc["$id"]
            if not isinstance(sid, str) or "://" not in sid or "#" in sid.rstrip("#"):
                raise SpecError("A schema's $id must be an absolute URI without fragment", location=str(path),
                                detail=f"$id is {sid!r}")
            sid = sid.rstrip("#")
            if sid in self._files:
                raise SpecError("Two schemas have the same $id", location=f"{self._files[sid]} and {path}",
                                detail=sid, hint="each schema file needs its own $id (its path under specs/)")
            self._docs[sid] = doc
            self._files[sid] = path
            self._aliases[rel] = sid
            if path.is_relative_to(self.version_dir):
                self._aliases[path.relative_to(self.version_dir).as_posix()] = sid
        elif in_profiles:
            if not isinstance(doc, dict) or not isinstance(doc.get("id"), str):
                raise SpecError("A profile must be a JSON object with a string 'id'", location=str(path))
            if doc["id"] in self._profile_files:
                raise SpecError(f"Two profiles have the id {doc['id']!r}",
                                location=f"{self._profile_files[doc['id']][1]} and {path}")
            self._profile_files[doc["id"]] = (doc, path)
        elif path.is_relative_to(self.version_dir):
            self._data[path.relative_to(self.version_dir).as_posix()] = (doc, path)

    def _load_interfaces(self) -> dict[str, InterfaceSpec]:
        manifest, manifest_path = self._data.get("manifest.json", (None, self.version_dir / "manifest.json"))
        if not isinstance(manifest, dict) or not isinstance(manifest.get("interfaces"), list):
            raise SpecError("The spec manifest is missing or has no 'interfaces' list", location=str(manifest_path))
        declared = manifest.get("spec_version")
        if declared not in (None, self.version):
            raise SpecError(f"The manifest says spec_version {declared!r} inside folder {self.version!r}",
                            location=str(manifest_path))
        self.manifest: dict[str, Any] = manifest
        found: dict[str, InterfaceSpec] = {}
        for alias, sid in self._aliases.items():
            if alias.startswith("interfaces/") and alias.count("/") == 1:
                spec = InterfaceSpec(self._schemas, self._docs[sid], self._files[sid])
                if spec.infno in found:
                    raise SpecError(f"Two interface files declare x-infno {spec.infno}",
                                    location=f"{found[spec.infno].path} and {spec.path}")
                found[spec.infno] = spec
        missing = [str(i) for i in manifest["interfaces"] if str(i) not in found]
        if missing:
            raise SpecError("The manifest lists interfaces that have no schema file", location=str(manifest_path),
                            detail="missing: " + ", ".join(missing),
                            hint=f"add {self.version}/interfaces/<infno>.json or remove them from the manifest")
        return dict(sorted(found.items()))

    def _load_code_lists(self) -> list[CodeList]:
        lists = []
        for alias, sid in self._aliases.items():
            if not (alias.startswith("codes/") and alias.count("/") == 1):
                continue
            doc = self._docs[sid]
            enum = doc.get("enum")
            if not isinstance(enum, list):
                raise SpecError("A code list needs an 'enum' array", location=str(self._files[sid]))
            variants = doc.get("x-variants") or {}
            lists.append(CodeList(
                name=doc.get("x-dict") or Path(alias).stem,
                title_zh=doc.get("title", ""),
                values=tuple(enum),
                labels=dict(doc.get("x-labels") or {}),
                variants={k: tuple(v) for k, v in variants.items()},
                schema_id=sid,
            ))
        return lists

    def _load_rules(self) -> tuple[dict[str, Rule], dict[str, Cause]]:
        doc, path = self._data.get("rules.json", ({}, self.version_dir / "rules.json"))
        try:
            rules = {
                r["id"]: Rule(r["id"], r.get("title_zh", ""), r.get("title_en", ""), r.get("text", ""),
                              r.get("source", ""))
                for r in doc.get("rules", [])
            }
            causes = {
                c["id"]: Cause(c["id"], c.get("clause", ""), c.get("title_zh", ""), c.get("title_en", ""),
                               tuple(str(x) for x in c.get("applies_to", ())))
                for c in doc.get("causes", [])
            }
        except (AttributeError, KeyError, TypeError) as exc:
            raise SpecError("rules.json is malformed", location=str(path), detail=repr(exc),
                            hint='expected {"rules": [{"id": …}], "causes": [{"id": …, "clause": …}]}') from exc
        return rules, causes

    # lookups

    def interfaces(self) -> list[InterfaceSpec]:
        return list(self._interfaces.values())

    def interface(self, infno: str) -> InterfaceSpec:
        spec = self._interfaces.get(str(infno))
        if spec is None:
            raise SpecError(f"Unknown interface {infno!r}", location=str(self.version_dir / "interfaces"),
                            detail=f"spec {self.version} has {len(self._interfaces)} interfaces",
                            hint="`hsa-cert specs list` shows them")
        return spec

    def has_interface(self, infno: str) -> bool:
        return str(infno) in self._interfaces

    def schema_id(self, schema_id_or_relpath: str) -> str:
        """The absolute `$id` (with fragment, if given) of a schema named by `$id` or relative path."""
        base, _, fragment = schema_id_or_relpath.partition("#")
        sid = base if base in self._docs else self._aliases.get(base.lstrip("/"))
        if sid is None:
            raise SpecError(f"Unknown schema {schema_id_or_relpath!r}", location=str(self.root),
                            hint="name it by $id or by its path in the version folder, e.g. interfaces/2207.json")
        return f"{sid}#{fragment}" if fragment else sid

    def schema(self, schema_id_or_relpath: str) -> dict[str, Any]:
        """The raw schema (read-only by convention); a `#/pointer` fragment selects a subschema."""
        ref = self.schema_id(schema_id_or_relpath)
        at = self._schemas.get(ref)
        if at is None:
            raise SpecError(f"No schema at {schema_id_or_relpath!r}", location=ref)
        return at.schema

    def schema_file(self, schema_id_or_relpath: str) -> Path:
        return self._files[self.schema_id(schema_id_or_relpath).partition("#")[0]]

    def schema_documents(self) -> dict[str, Any]:
        """Every schema document keyed by `$id` (for cross-checking with other validators)."""
        return dict(self._docs)

    def code_lists(self) -> list[CodeList]:
        return sorted(self._code_lists.values(), key=lambda c: c.name)

    def code_list(self, name: str) -> CodeList:
        found = self._code_lists.get(name)
        if found is None:
            raise SpecError(f"Unknown code list {name!r}", location=str(self.version_dir / "codes"))
        return found

    def rules(self) -> list[Rule]:
        return list(self._rules.values())

    def rule(self, id: str) -> Rule:
        if id not in self._rules:
            raise SpecError(f"Unknown business rule {id!r}", location=str(self.version_dir / "rules.json"))
        return self._rules[id]

    def causes(self) -> list[Cause]:
        return list(self._causes.values())

    def cause(self, id: str) -> Cause:
        if id not in self._causes:
            raise SpecError(f"Unknown failure cause {id!r}", location=str(self.version_dir / "rules.json"))
        return self._causes[id]

    # profiles

    def profiles(self) -> list[str]:
        return sorted(self._profile_files)

    def profile(self, name: str = "baseline") -> Profile:
        """The profile merged over its `extends` chain; checked against profiles/profile.schema.json."""
        cached = self._profiles.get(name)
        if cached is not None:
            return cached
        chain: list[str] = []
        current: str | None = name
        while current is not None:
            if current in chain:
                raise SpecError("Profiles extend each other in a cycle", detail=" → ".join([*chain, current]),
                                location=str(self.root / "profiles"))
            if current not in self._profile_files:
                raise SpecError(f"Unknown profile {current!r}", location=str(self.root / "profiles"),
                                detail=f"required by {chain[-1]!r}" if chain else "",
                                hint="known profiles: " + ", ".join(self.profiles()))
            chain.append(current)
            current = self._profile_files[current][0].get("extends")
        merged: dict[str, Any] = {}
        for pid in reversed(chain):
            merged = deep_merge(merged, self._profile_files[pid][0])
        merged["id"] = name
        self._check_profile(merged, self._profile_files[name][1])
        profile = Profile(merged)
        if profile.spec_version not in (None, self.version):
            raise SpecError(f"Profile {name!r} is for spec {profile.spec_version}, not {self.version}",
                            location=str(self._profile_files[name][1]))
        self._profiles[name] = profile
        return profile

    def _check_profile(self, merged: Mapping[str, Any], path: Path) -> None:
        sid = self._aliases.get("profiles/profile.schema.json")
        if sid is None:
            return
        problems = self.validate_document(sid, merged)
        if problems:
            raise SpecError(f"Profile {merged['id']!r} does not match profiles/profile.schema.json",
                            location=str(path), detail="\n".join(p.render() for p in problems))

    def validate_document(self, schema_id_or_relpath: str, instance: Any) -> list[SchemaViolation]:
        """Validate any document (a profile, a scenario file) against a schema of the registry."""
        if self._plain is None:
            self._plain = _Compiler(self._docs, "specs/")
        ref = self.schema_id(schema_id_or_relpath)
        label = Path(ref.partition("#")[0]).name
        return self._plain.violations(ref, instance, (), lambda parts: label)

    def validator(self, profile: str = "baseline") -> MessageValidator:
        """The message validator for a profile: compiled once (lazily, per interface) and cached."""
        found = self._validators.get(profile)
        if found is None:
            with self._lock:
                found = self._validators.get(profile)
                if found is None:
                    found = MessageValidator(self, self.profile(profile))
                    self._validators[profile] = found
        return found


# --- validating messages under a profile ------------------------------------------------------


def _interface_clause(infno: str, direction: str) -> Any:
    def fallback(parts: Sequence[str | int]) -> str:
        return ".".join([infno, direction, *(p for p in parts if isinstance(p, str))])

    return fallback


def _envelope_clause(direction: str) -> Any:
    def fallback(parts: Sequence[str | int]) -> str:
        return f"ENV.{direction}.{parts[0]}" if parts and isinstance(parts[0], str) else f"ENV.{direction}"

    return fallback


def _sorted(violations: list[SchemaViolation]) -> list[SchemaViolation]:
    def key(v: SchemaViolation) -> tuple[Any, ...]:
        parts = [int(p) if p.isdigit() else p for p in v.path.split("/")[1:]]
        return (_path_key(parts), v.clause, v.message)

    return sorted(violations, key=key)


class MessageValidator:
    """Validates envelopes, inputs and outputs under one province profile."""

    def __init__(self, registry: SpecRegistry, profile: Profile) -> None:
        self.registry = registry
        self.profile = profile
        self._compiler = _Compiler(self._profiled_documents(registry, profile), f"profile {profile.id}")
        self._request_ref = registry.schema_id("envelope/request.json")
        self._response_ref = registry.schema_id("envelope/response.json")
        self._cross_region = profile.cross_region_required

    @staticmethod
    def _profiled_documents(registry: SpecRegistry, profile: Profile) -> dict[str, Any]:
        """The registry's schemas with the profile's code variants and schema overrides applied (copies)."""
        docs = registry.schema_documents()
        copied: set[str] = set()

        def own(sid: str) -> dict[str, Any]:
            if sid not in copied:
                docs[sid] = copy.deepcopy(docs[sid])
                copied.add(sid)
            return docs[sid]

        where = f"profile {profile.id}"
        for name, variant in profile.code_variants.items():
            try:
                code_list = registry.code_list(name)
            except SpecError as exc:
                raise SpecError(f"{where} selects a variant of unknown code list {name!r}",
                                location=str(registry.root / "profiles")) from exc
            if variant not in code_list.variants:
                raise SpecError(f"{where} selects variant {variant!r} of code list {name!r}, which has none such",
                                location=str(registry.schema_file(code_list.schema_id)),
                                hint="known variants: " + (", ".join(code_list.variants) or "none"))
            own(code_list.schema_id)["enum"] = list(code_list.variants[variant])
        for override in profile.schema_overrides:
            try:
                sid = registry.schema_id(str(override["schema"]))
                pointer = str(override.get("pointer", ""))
                target = resolve_pointer(own(sid), pointer)
                merge = override["merge"]
            except (KeyError, SpecError) as exc:
                raise SpecError(f"{where} has a schema override that does not apply", detail=repr(override),
                                location=str(registry.root / "profiles"),
                                hint="'schema' names a spec file, 'pointer' an existing object in it, "
                                     "'merge' the keys to merge") from exc
            if not isinstance(target, dict) or not isinstance(merge, Mapping):
                raise SpecError(f"{where} overrides something that is not an object", detail=repr(override))
            merged = deep_merge(target, merge)
            target.clear()
            target.update(merged)
        for infno, aliases in profile.input_node_aliases.items():
            if not registry.has_interface(infno):
                continue  # a provincial transaction outside this spec version
            spec = registry.interface(infno)
            root = own(spec.schema_id)["$defs"]["input"]
            for node, alias in aliases.items():
                if node not in root.get("properties", {}):
                    raise SpecError(f"{where} aliases input node {node!r} of {infno}, which has no such node",
                                    location=str(registry.root / "profiles"))
                root["properties"][alias] = copy.deepcopy(root["properties"][node])
                if node in root.get("required", ()):
                    root["required"] = [r for r in root["required"] if r != node]
                    either = {"anyOf": [{"required": [node]}, {"required": [alias]}]}
                    root["allOf"] = [*root.get("allOf", ()), either]
        return docs

    def schema_documents(self) -> dict[str, Any]:
        """The schema documents this validator compiles, profile applied (for cross-checking)."""
        return dict(self._compiler.schemas.docs)

    # fast paths

    def is_valid_request(self, envelope: Any) -> bool:
        compiler = self._compiler
        if not compiler.is_valid(self._request_ref, envelope):
            return False
        spec = self.registry._interfaces.get(envelope.get("infno"))
        if spec is None:
            return False
        if not compiler.is_valid(spec.input_ref, envelope.get("input")):
            return False
        return not (envelope.get("infno") in self._cross_region and self._cross_region_violations(spec, envelope))

    def is_valid_response(self, infno: str, envelope: Any) -> bool:
        spec = self.registry.interface(infno)
        if not self._compiler.is_valid(self._response_ref, envelope):
            return False
        if self._succeeded(envelope) and "output" in envelope:
            return self._compiler.is_valid(spec.output_ref, envelope["output"])
        return True

    # full reports

    def validate_input(self, infno: str, input: Any) -> list[SchemaViolation]:
        spec = self.registry.interface(infno)
        return self._compiler.violations(spec.input_ref, input, ("input",), _interface_clause(spec.infno, "in"))

    def validate_output(self, infno: str, output: Any) -> list[SchemaViolation]:
        spec = self.registry.interface(infno)
        return self._compiler.violations(spec.output_ref, output, ("output",), _interface_clause(spec.infno, "out"))

    def validate_request(self, envelope: Any) -> list[SchemaViolation]:
        """Envelope, then the input of the envelope's infno, then the profile's cross-region fields."""
        found = self._compiler.violations(self._request_ref, envelope, (), _envelope_clause("req"))
        if not isinstance(envelope, Mapping):
            return found
        infno = envelope.get("infno")
        spec = self.registry._interfaces.get(infno) if isinstance(infno, str) else None
        if spec is None:
            if isinstance(infno, str) and infno and not any(v.path == "/infno" for v in found):
                found.append(SchemaViolation(
                    path="/infno", clause="ENV.req.infno", message="unknown transaction code",
                    expected=f"one of the {len(self.registry._interfaces)} interfaces of spec {self.registry.version}",
                    actual=_short(infno), field_zh="交易编号"))
            return _sorted(found)
        if isinstance(envelope.get("input"), Mapping):
            found.extend(self.validate_input(spec.infno, envelope["input"]))
            found.extend(self._cross_region_violations(spec, envelope))
        return _sorted(found)

    def validate_response(self, infno: str, envelope: Any) -> list[SchemaViolation]:
        """Envelope, and the output node when the response reports success (infcode 0)."""
        spec = self.registry.interface(infno)
        found = self._compiler.violations(self._response_ref, envelope, (), _envelope_clause("resp"))
        if self._succeeded(envelope) and "output" in envelope:
            found.extend(self.validate_output(spec.infno, envelope["output"]))
        return _sorted(found)

    @staticmethod
    def _succeeded(envelope: Any) -> bool:
        if not isinstance(envelope, Mapping):
            return False
        infcode = envelope.get("infcode")  # 0.0 is the integer 0 to JSON Schema, so it counts as success too
        return isinstance(infcode, int | float) and not isinstance(infcode, bool) and infcode == 0

    def _cross_region_violations(self, spec: InterfaceSpec, envelope: Mapping[str, Any]) -> list[SchemaViolation]:
        """R-XREGION-FIELDS: JSON Schema cannot compare insuplc_admdvs with mdtrtarea_admvs, so it is done here."""
        required = self._cross_region.get(spec.infno)
        insuplc = envelope.get("insuplc_admdvs")
        treating = envelope.get("mdtrtarea_admvs")
        if not required or not isinstance(insuplc, str) or not insuplc.strip() or insuplc == treating:
            return []
        data = envelope.get("input")
        node = next(iter(spec.input_nodes), None)
        if not isinstance(data, Mapping) or node is None:
            return []
        spec_node = node
        if node not in data:  # the province's name for the node, if the profile has one
            node = self.profile.input_node_aliases.get(spec.infno, {}).get(node, node)
        value = data.get(node)
        if isinstance(value, Mapping):
            targets = [((node,), value)]
        elif isinstance(value, list):
            targets = [((node, i), item) for i, item in enumerate(value) if isinstance(item, Mapping)]
        else:
            return []
        titles = {(f.node, f.name): f for f in spec.fields("in")}
        found = []
        for where, record in targets:
            for name in required:
                current = record.get(name)
                if current not in (None, "") and not (isinstance(current, str) and not current.strip()):
                    continue
                info = titles.get((spec_node, name))
                clause = info.clause if info else f"{spec.infno}.in.{spec_node}.{name}"
                found.append(SchemaViolation(
                    path=pointer_of(("input", *where, name)),
                    clause="R-XREGION-FIELDS",
                    message=(f"required for cross-region business ({clause}): insuplc_admdvs {insuplc} "
                             f"differs from mdtrtarea_admvs {treating}"),
                    expected="present and non-empty",
                    actual="missing" if name not in record else _short(current),
                    field_zh=info.title_zh if info else "",
                ))
        return found


# --- entry point ------------------------------------------------------------------------------


def default_root() -> Path:
    """specs/ beside the installed package (`<root>/harness`, `<root>/specs`), or $HSA_CERT_SPECS."""
    override = os.environ.get(SPECS_ENV, "").strip()
    if override:
        return Path(override)
    return Path(__file__).resolve().parent.parent / "specs"


@lru_cache(maxsize=16)
def _load(root: str, version: str) -> SpecRegistry:
    return SpecRegistry(Path(root), version)


def load_registry(root: Path | str | None = None, version: str = DEFAULT_VERSION) -> SpecRegistry:
    """The registry of one spec version, loaded once per (root, version)."""
    folder = Path(root) if root is not None else default_root()
    if not folder.is_dir():
        raise SpecError("The specs folder does not exist", location=str(folder),
                        hint=f"set {SPECS_ENV} to the specs/ folder of an hsa-cert checkout")
    return _load(str(folder.resolve()), version)

