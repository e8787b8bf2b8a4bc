"""Loading `specs/`: every JSON file read once, schemas keyed by `$id`, one registry per spec version.

`specs/<version>/` holds the manifest, types, envelopes, interfaces, code lists and rules;
`specs/profiles/` the province profiles; files directly in `specs/` (e.g. scenario.schema.json) are
registered too. Files are found by their place in the tree, schemas are named by `$id` or by relative
path, and every `$ref` between them resolves locally: nothing is fetched.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from harness.errors import SpecError
from harness.model import SchemaViolation
from harness.resources import SPECS_ENV, specs_dir, specs_overridden
from harness.specs.fields import InterfaceSpec
from harness.specs.navigation import SchemaNavigator
from harness.specs.profiles import Profile, merge_extends_chain
from harness.specs.records import Cause, CodeList, Rule, code_list_from, rules_from
from harness.specs.validate import MessageValidator, ValidatorCache

__all__ = [
    "DEFAULT_VERSION",
    "SPECS_ENV",
    "SpecRegistry",
    "default_root",
    "load_registry",
    "read_json",
]

DEFAULT_VERSION = "v1.1.27"


def read_json(path: Path) -> Any:
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
                hint=f"point {SPECS_ENV} at a specs/ folder that has it, or choose an existing version",
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
        self._schemas = SchemaNavigator(self._docs)
        self._interfaces = self._load_interfaces()
        self._code_lists = {cl.name: cl for cl in self._load_code_lists()}
        self._rules, self._causes = self._load_rules()
        self._profiles: dict[str, Profile] = {}
        self._validators: dict[str, MessageValidator] = {}
        self._plain: ValidatorCache | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"SpecRegistry({self.root}, {self.version})"

    # loading

    def _add(self, path: Path, *, in_profiles: bool) -> None:
        doc = read_json(path)
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
        return [code_list_from(self._docs[sid], sid, self._files[sid]) for alias, sid in self._aliases.items()
                if alias.startswith("codes/") and alias.count("/") == 1]

    def _load_rules(self) -> tuple[dict[str, Rule], dict[str, Cause]]:
        doc, path = self._data.get("rules.json", ({}, self.version_dir / "rules.json"))
        return rules_from(doc, path)

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
        merged = merge_extends_chain(name, self._profile_files, self.root / "profiles")
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
            self._plain = ValidatorCache(self._docs, "specs/")
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


def default_root() -> Path:
    """$HSA_CERT_SPECS, else specs/ of the checkout, else the specs installed with the package."""
    return specs_dir()


@lru_cache(maxsize=16)
def _load(root: str, version: str) -> SpecRegistry:
    return SpecRegistry(Path(root), version)


def load_registry(root: Path | str | None = None, version: str = DEFAULT_VERSION) -> SpecRegistry:
    """The registry of one spec version, loaded once per (root, version)."""
    folder = Path(root) if root is not None else default_root()
    if not folder.is_dir():
        hint = (f"{SPECS_ENV} names a folder that does not exist: point it at a specs/ folder, or unset it"
                if root is None and specs_overridden() else
                f"reinstall hsa-cert (the wheel carries its specs), or set {SPECS_ENV} to a specs/ folder")
        raise SpecError("The specs folder does not exist", location=str(folder), hint=hint)
    return _load(str(folder.resolve()), version)

