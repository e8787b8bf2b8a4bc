"""Province profiles: deviations from the national baseline, merged over their `extends` chain.

A profile selects code-list variants, merges schema overrides at JSON pointers, aliases input nodes,
names the fields cross-region business requires and may raise or lower normative grades (`grades`,
applied by `harness.specs.grades`). `profiled_documents` applies the first three to
copies of the schema documents before they are compiled; the last is checked in code (JSON Schema
cannot compare insuplc_admdvs with mdtrtarea_admvs).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.errors import SpecError
from harness.model import Grade
from harness.specs.navigation import resolve_pointer

if TYPE_CHECKING:
    from harness.specs.loader import SpecRegistry

__all__ = ["Profile", "deep_merge", "merge_extends_chain", "profiled_documents"]


def deep_merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """Merge `over` into a copy of `base`: dicts merge recursively, everything else (lists too) replaces."""
    merged = copy.deepcopy(dict(base))
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def merge_extends_chain(name: str, profile_files: Mapping[str, tuple[dict[str, Any], Path]],
                        profiles_dir: Path) -> dict[str, Any]:
    """The raw profile `name` deep-merged over every profile it `extends`, ancestors first; `id` is `name`."""
    chain: list[str] = []
    current: str | None = name
    while current is not None:
        if current in chain:
            raise SpecError("Profiles extend each other in a cycle", detail=" → ".join([*chain, current]),
                            location=str(profiles_dir))
        if current not in profile_files:
            raise SpecError(f"Unknown profile {current!r}", location=str(profiles_dir),
                            detail=f"required by {chain[-1]!r}" if chain else "",
                            hint="known profiles: " + ", ".join(sorted(profile_files)))
        chain.append(current)
        current = profile_files[current][0].get("extends")
    merged: dict[str, Any] = {}
    for pid in reversed(chain):
        merged = deep_merge(merged, profile_files[pid][0])
    merged["id"] = name
    return merged


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
    def grades(self) -> dict[str, Grade]:
        """Grade overrides of this province: clause id, glob, scenario id glob or check name -> grade."""
        return {str(k): Grade(v) for k, v in self._get("grades", {}).items()}

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


def profiled_documents(registry: SpecRegistry, profile: Profile) -> dict[str, Any]:
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
