"""Generate the spec data under specs/v1.1.27/ from the Hunan V1.1.27 markdown rendering.

Provenance tool, not part of the harness (harness/ must not import it). It reads the field tables of each
【infno】 section and the 【4906字典表】 chapter, applies the hand overrides of tools/spec_overrides.py (each
citing interface-facts.md or real traffic), and writes interfaces/<infno>.json, codes/<dict>.json,
types.json, envelope/*.json and manifest.json. rules.json and the profiles are hand-written.

    python tools/import_spec.py [--spec PATH_TO_MD] [--out specs/v1.1.27]

The generated JSON is committed; review diffs by hand after re-running.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import spec_envelope
import spec_overrides as ov

REPO = Path(__file__).resolve().parent.parent
# The project's shared folder sits beside the checkout.
DEFAULT_SPEC = REPO.parent / "shared" / "domain" / "spec" / "hunan-interface-spec-v1.1.27.md"
SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"

_SECTION = re.compile(r"^(#{2,6})\s*【([0-9A-Z]+)】\s*(.*?)\s*$")
_HEADING = re.compile(r"^(#{1,6})\s")
_CAPTION = re.compile(r"^表\s*(\d+)\s*(.*)$")
_NODE = re.compile(r"节点(?:标识)?[：:]?\s*([A-Za-z_]+|无节点)")
_DICT_HEADING = re.compile(r"^###\s*(.+?)\s*[（(]\s*([A-Za-z][A-Za-z0-9_]*)\s*[)）]\s*$")
_EDITORIAL = re.compile(r"[（(][^（()）]*(?:别用|用不上|不要|已废除)[^（()）]*[)）]\s*$")


@dataclass
class Row:
    code: str
    name: str
    type: str
    length: str
    coded: bool
    required: bool
    note: str


@dataclass
class Table:
    number: int
    caption: str
    direction: str  # "in" | "out"
    node: str
    rows: list[Row] = field(default_factory=list)


@dataclass
class Section:
    infno: str
    title: str
    tables: list[Table] = field(default_factory=list)


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def _parse_table(lines: list[str], start: int) -> tuple[list[list[str]], int]:
    """Rows (header first, as cell lists) of the markdown table at or after `start`, and the index after it."""
    i = start
    while i < len(lines) and not lines[i].startswith("|"):
        if lines[i].strip() and not lines[i].startswith("|"):
            return [], i
        i += 1
    if i >= len(lines):
        return [], i
    rows: list[list[str]] = []
    while i < len(lines) and lines[i].startswith("|"):
        cells = _cells(lines[i])
        if not all(set(c) <= set("-: ") for c in cells):
            rows.append(cells)
        i += 1
    return rows, i


def _keyed(rows: list[list[str]]) -> list[dict[str, str]]:
    """Data rows keyed by header text without spaces (headers of field tables are unique)."""
    if not rows:
        return []
    header = [h.replace(" ", "") for h in rows[0]]
    return [dict(zip(header, cells, strict=False)) for cells in rows[1:]]


def _row(raw: dict[str, str]) -> Row | None:
    code = raw.get("参数代码") or raw.get("数据元标识") or ""
    if not code:
        return None
    return Row(
        code=code.strip(),
        name=raw.get("参数名称") or raw.get("数据元名称") or "",
        type=(raw.get("参数类型") or raw.get("类型") or "").replace(" ", ""),
        length=(raw.get("参数长度") or raw.get("长度") or "").replace("，", ",").replace(" ", ""),
        coded=(raw.get("代码标识") or "").upper() == "Y",
        required=(raw.get("是否必填") or raw.get("是否非空") or "").upper() == "Y",
        note=raw.get("说明") or raw.get("备注") or "",
    )


def parse_sections(text: str, wanted: set[str]) -> dict[str, Section]:
    lines = text.splitlines()
    sections: dict[str, Section] = {}
    i = 0
    while i < len(lines):
        m = _SECTION.match(lines[i])
        if not m or m.group(2) not in wanted or m.group(2) in sections:
            i += 1
            continue
        level, infno = len(m.group(1)), m.group(2)
        section = Section(infno, _EDITORIAL.sub("", m.group(3)).strip())
        i += 1
        while i < len(lines):
            line = lines[i]
            h = _HEADING.match(line)
            if h and (len(h.group(1)) <= level or _SECTION.match(line)):
                break
            c = _CAPTION.match(line.strip())
            if c and "文件" not in c.group(2):
                caption = c.group(2).strip()
                node_m = _NODE.search(caption)
                direction = "in" if caption.startswith("输入") else "out"
                node = node_m.group(1) if node_m else "无节点"
                rows, i = _parse_table(lines, i + 1)
                table = Table(int(c.group(1)), caption, direction, node)
                table.rows = [r for r in (_row(x) for x in _keyed(rows)) if r is not None]
                section.tables.append(table)
                continue
            i += 1
        sections[infno] = section
    return sections


def parse_dictionaries(text: str) -> dict[str, tuple[str, list[tuple[str, str]]]]:
    """{dict_name: (中文 title, [(code, label), …])} from the 【4906字典表】 chapter; first occurrence wins."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("## 【4906字典表】"))
    result: dict[str, tuple[str, list[tuple[str, str]]]] = {}
    i = start
    while i < len(lines):
        m = _DICT_HEADING.match(lines[i])
        if not m:
            i += 1
            continue
        title, name = m.group(1).strip(), m.group(2)
        rows, i = _parse_table(lines, i + 1)
        if not rows:
            rows, i = _parse_table(lines, i + 1)  # skip the "表 N …" caption line
        codes: list[tuple[str, str]] = []
        for cells in rows[1:]:
            for k in range(0, len(cells) - 1, 2):
                code, label = cells[k].strip(), cells[k + 1].strip()
                if " " in code:  # rendering split "A32.01 X | 线诊断专业"
                    code, rest = code.split(" ", 1)
                    label = rest + label
                if label or code:
                    codes.append((code, label))
        if name not in result:
            result[name] = (title, codes)
    return result


# ---------------------------------------------------------------------------------------------------------------
# Field schemas

_DIGIT_TYPES = {(16, 2): "money", (16, 6): "price", (16, 4): "qty", (5, 4): "ratio", (4, 1): "age"}


def field_kind(row: Row) -> tuple[str, tuple[int, int] | None]:
    """(kind, digits) for a table row: kind is string|money|price|qty|ratio|age|number|integer|date|datetime|bytes."""
    length = row.length
    if "," in length or "数值" in row.type or "数字" in row.type:
        if "," in length:
            p, s = (int(x) for x in length.split(",")[:2])
            kind = _DIGIT_TYPES.get((p, s))
            return (kind, None) if kind else ("number", (p, s))
        if length.isdigit():
            return "integer", (int(length), 0)
        return ("age", None) if row.code == "age" else ("number", None)
    if "日期时间" in row.type:
        return "datetime", None
    if "日期" in row.type:
        return ("datetime", None) if "HH" in row.note else ("date", None)
    if "字节" in row.type:
        return "bytes", None
    return "string", None


def base_schema(kind: str, digits: tuple[int, int] | None, code: str | None) -> dict[str, Any]:
    if code:
        return {"$ref": f"../codes/{code}.json"}
    if kind in {"money", "price", "qty", "ratio", "age", "date", "datetime"}:
        return {"$ref": f"../types.json#/$defs/{kind}"}
    if kind == "integer":
        return {"type": "integer", "x-digits": list(digits or (0, 0))}
    if kind == "number":
        return {"type": "number", **({"x-digits": list(digits)} if digits else {})}
    if kind == "bytes":  # 9101 `in`: a byte array in the JSON form (IF §2.2), base64 text tolerated
        return {"type": ["array", "string"], "items": {"type": "integer", "minimum": -128, "maximum": 255}}
    return {"type": "string"}


def field_schema(*, clause: str, title: str, kind: str, digits: tuple[int, int] | None, max_length: int | None,
                 code: str | None, required: bool, direction: str, note: str = "",
                 pattern: str | None = None) -> dict[str, Any]:
    base = base_schema(kind, digits, code)
    if required:
        schema = dict(base)
        if kind == "string" and not code and direction == "in":
            schema["minLength"] = 1
    elif "type" in base and base["type"] == "string":
        schema = {"type": ["string", "null"]}
    elif code or kind in {"date", "datetime"}:
        schema = {"anyOf": [base, {"enum": ["", None]}]}
    elif kind in {"money", "price", "qty", "ratio", "age"}:
        schema = {"anyOf": [base, {"type": "null"}]}
    elif kind in {"integer", "number"}:
        schema = {**base, "type": [base["type"], "null"]}
    else:
        schema = dict(base)
    if max_length and (kind == "string" or code):
        schema["maxLength"] = max_length
    if pattern:
        schema["pattern"] = pattern if required else f"(?:{pattern})|^$"
    out: dict[str, Any] = {**schema, "title": title, "x-clause": clause}
    if code:
        out["x-code"] = code
    if note:
        out["description"] = note
    return out


def ext_content_schema(clause: str) -> dict[str, Any]:
    # IF §1.1: spelled exp_content or expContent; a JSON text (HN V1.1.21) or null; some send an object.
    return {"type": ["string", "object", "null"], "maxLength": 4000, "title": "字段扩展", "x-clause": clause}


# ---------------------------------------------------------------------------------------------------------------
# Interfaces


@dataclass
class Build:
    dictionaries: dict[str, tuple[str, list[tuple[str, str]]]]
    referenced_codes: set[str] = field(default_factory=set)
    missing_codes: dict[str, list[str]] = field(default_factory=dict)
    field_count: int = 0

    def code_for(self, name: str, coded: bool, clause: str) -> str | None:
        if name in ov.FREE_FORM_CODES:
            return None
        dict_name = ov.CODE_ALIASES.get(name, name)
        if not coded and name not in ov.FORCE_CODED:
            return None
        if dict_name in self.dictionaries or dict_name in ov.CODE_PATCHES or dict_name in ov.FLAG01_NAMES:
            self.referenced_codes.add(dict_name)
            return dict_name
        self.missing_codes.setdefault(dict_name, []).append(clause)
        return None


def build_node(b: Build, infno: str, direction: str, node: str, table: Table | None) -> dict[str, Any]:
    props: dict[str, Any] = {}
    required: list[str] = []
    rows = list(table.rows) if table else []
    for row in rows:
        name = row.code
        clause = f"{infno}.{direction}.{node}.{name}"
        if name in props:
            print(f"warning: duplicate field {clause}", file=sys.stderr)
            continue
        if name in {"exp_content", "expContent"}:
            continue
        patch = ov.FIELD_PATCHES.get((infno, direction, node, name), {})
        kind, digits = field_kind(row)
        kind = patch.get("kind", kind)
        max_length = patch.get("max_length", int(row.length) if row.length.isdigit() else None)
        is_required = patch.get("required", row.required)
        note = "; ".join(x for x in (row.note, patch.get("note", "")) if x)
        title = row.name
        if node == ov.CROSS_REGION_NODES.get(infno) and name in ov.CROSS_REGION_FIELDS and direction == "in":
            title, _, max_length = ov.CROSS_REGION_FIELDS[name]
            is_required = False
            note = "; ".join(x for x in (note, "[V] 异地就医必填: required via profile cross_region_required") if x)
        if name == "fixmedins_name":
            max_length = max(max_length or 0, 200)
        code = b.code_for(name, row.coded, clause)
        if name in ov.FREE_FORM_CODES:
            max_length = max(max_length or 0, 6)
        props[name] = field_schema(clause=clause, title=title, kind=kind, digits=digits, max_length=max_length,
                                   code=code, required=is_required, direction=direction, note=note,
                                   pattern=patch.get("pattern"))
        if is_required:
            required.append(name)
    if direction == "in" and node == ov.CROSS_REGION_NODES.get(infno):
        for name, (title, code, max_length) in ov.CROSS_REGION_FIELDS.items():
            if name in props or (infno == "1101" and name == "psn_type"):
                continue
            clause = f"{infno}.in.{node}.{name}"
            props[name] = field_schema(clause=clause, title=title, kind="string", digits=None, max_length=max_length,
                                       code=b.code_for(name, bool(code), clause), required=False, direction="in",
                                       note="[V] 异地就医必填 (IF §3.6, S1); absent from the HN table")
    for name, title, kind, max_length, code, is_required, note in ov.EXTRA_FIELDS.get((infno, direction, node), []):
        clause = f"{infno}.{direction}.{node}.{name}"
        props[name] = field_schema(clause=clause, title=title, kind=kind, digits=None, max_length=max_length,
                                   code=code, required=is_required, direction=direction, note=note)
        if is_required:
            required.append(name)
    if any(r.code in {"exp_content", "expContent"} for r in rows):
        for spelling in ("exp_content", "expContent"):
            props[spelling] = ext_content_schema(f"{infno}.{direction}.{node}.{spelling}")
    b.field_count += len(props)
    caption = table.caption if table else "交易输出"
    title = re.sub(r"[（(].*$", "", caption).strip() or ("输入" if direction == "in" else "输出")
    schema: dict[str, Any] = {"type": "object", "title": title, "x-node": node, "properties": props}
    if required:
        schema["required"] = required
    one_of = ov.ONE_OF_REQUIRED.get((infno, direction, node))
    if one_of:
        schema["allOf"] = [{"anyOf": [{"required": [n]} for n in group]} for group in one_of]
        schema["x-one-of-required"] = one_of
    return schema


def build_interface(b: Build, section: Section) -> dict[str, Any]:
    infno = section.infno
    name_en, area, state_changing = ov.INTERFACES[infno]
    defs: dict[str, Any] = {}
    nodes: dict[str, dict[str, str]] = {"in": {}, "out": {}}
    for table in section.tables:
        node = ov.NODE_RENAMES.get((infno, table.direction, table.node), table.node)
        if node == "无节点":
            node = ov.ROOT_NODE
        key = f"{table.direction}.{node}"
        if key in defs:
            print(f"warning: {infno} repeats node {key}", file=sys.stderr)
            continue
        defs[key] = build_node(b, infno, table.direction, node, table)
        arrays = ov.ARRAY_NODES.get(infno, set())
        kind = "root" if node == ov.ROOT_NODE else "array" if key in arrays else "object"
        nodes[table.direction][node] = kind
    sections: dict[str, Any] = {}
    for direction, label in (("in", "交易输入"), ("out", "交易输出")):
        props: dict[str, Any] = {}
        required: list[str] = []
        root = None
        for node, kind in nodes[direction].items():
            ref = {"$ref": f"#/$defs/{direction}.{node}"}
            if kind == "root":
                root = ref
                continue
            props[node] = {"type": "array", "items": ref} if kind == "array" else ref
            if node not in ov.OPTIONAL_OUTPUT_NODES.get(infno, set()) or direction == "in":
                required.append(node)
        if root is not None:
            sections["input" if direction == "in" else "output"] = {"title": label, **root}
            continue
        schema: dict[str, Any] = {"type": "object" if required else ["object", "null"], "title": label}
        if props:
            schema["properties"] = props
        if required:
            schema["required"] = required
        sections["input" if direction == "in" else "output"] = schema
    numbers = [t.number for t in section.tables]
    source = "湖南 V1.1.27"
    if numbers:
        source += f" 表{numbers[0]}" + (f"–{numbers[-1]}" if len(numbers) > 1 else "")
    return {
        "$schema": SCHEMA_DIALECT,
        "$id": f"{ov.ID_BASE}interfaces/{infno}.json",
        "title": section.title,
        "x-infno": infno,
        "x-name-en": name_en,
        "x-area": area,
        "x-source": source,
        "x-state-changing": state_changing,
        "x-input-nodes": nodes["in"],
        "x-output-nodes": nodes["out"],
        "$defs": {"input": sections["input"], "output": sections["output"], **defs},
    }


def write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", type=Path, default=DEFAULT_SPEC)
    parser.add_argument("--out", type=Path, default=REPO / "specs" / ov.SPEC_VERSION)
    args = parser.parse_args(argv)
    text = args.spec.read_text(encoding="utf-8")
    wanted = set(ov.INTERFACES)
    sections = parse_sections(text, wanted)
    missing = sorted(wanted - set(sections))
    if missing:
        print(f"error: sections not found: {missing}", file=sys.stderr)
        return 1
    b = Build(parse_dictionaries(text))
    out: Path = args.out
    for old in (out / "interfaces").glob("*.json"):
        old.unlink()
    for infno in sorted(sections):
        write_json(out / "interfaces" / f"{infno}.json", build_interface(b, sections[infno]))
    codes = spec_envelope.write_codes(out, b.dictionaries, b.referenced_codes | set(ov.ALWAYS_CODES), write_json)
    spec_envelope.write_static(out, write_json)
    write_json(out / "manifest.json", {
        "spec_version": ov.SPEC_VERSION,
        "title_zh": "医疗保障信息平台定点医药机构接口规范",
        "source": "湖南省医疗保障信息平台定点医药机构接口规范 V1.1.27 (2024-10-14)",
        "interfaces": sorted(sections),
        "codes": codes,
    })
    print(f"interfaces: {len(sections)}, fields: {b.field_count}, code lists: {len(codes)}")
    for dict_name, clauses in sorted(b.missing_codes.items()):
        print(f"note: no dictionary {dict_name!r} for {', '.join(clauses[:4])}{' …' if len(clauses) > 4 else ''}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
