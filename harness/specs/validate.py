"""Validating messages: compiled jsonschema-rs validators, cached, and the per-profile `MessageValidator`.

This is the only module of harness/ that imports jsonschema-rs (tests/test_architecture.py). Validators
are compiled lazily, once per schema reference, from a `jsonschema_rs.Registry` of the (profile-applied)
documents, so every `$ref` resolves locally and nothing is fetched.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import jsonschema_rs

from harness.errors import SpecError
from harness.model import SchemaViolation
from harness.specs.cross_region import cross_region_violations
from harness.specs.fields import InterfaceSpec
from harness.specs.navigation import SchemaAt, SchemaNavigator
from harness.specs.profiles import Profile, profiled_documents
from harness.specs.violations import (
    ClauseFallback,
    envelope_clause,
    interface_clause,
    sorted_by_path,
    unknown_infno,
    violations_from_errors,
)

if TYPE_CHECKING:
    from harness.specs.loader import SpecRegistry

__all__ = ["DRAFT_2020_12", "MessageValidator", "ValidatorCache"]

DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"


class ValidatorCache:
    """jsonschema-rs validators over one set of documents, compiled on first use and cached."""

    def __init__(self, docs: Mapping[str, Any], label: str) -> None:
        self.schemas = SchemaNavigator(docs)
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
        self, ref: str, instance: Any, prefix: tuple[str, ...], fallback_clause: ClauseFallback
    ) -> list[SchemaViolation]:
        """Every error of `instance` against `ref`, as violations sorted by path."""
        compiled, wrapper = self.validator(ref)
        return violations_from_errors(compiled.iter_errors(instance), self.schemas, self.schemas.get(ref),
                                      SchemaAt("", "", wrapper), prefix, fallback_clause)


class MessageValidator:
    """Validates envelopes, inputs and outputs under one province profile."""

    def __init__(self, registry: SpecRegistry, profile: Profile) -> None:
        self.registry = registry
        self.profile = profile
        self._compiler = ValidatorCache(profiled_documents(registry, profile), f"profile {profile.id}")
        self._request_ref = registry.schema_id("envelope/request.json")
        self._response_ref = registry.schema_id("envelope/response.json")
        self._cross_region = profile.cross_region_required
        self._node_aliases = profile.input_node_aliases
        self._tolerated = profile.tolerated_deviations

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
        return self._compiler.violations(spec.input_ref, input, ("input",), interface_clause(spec.infno, "in"))

    def validate_output(self, infno: str, output: Any) -> list[SchemaViolation]:
        spec = self.registry.interface(infno)
        return self._compiler.violations(spec.output_ref, output, ("output",), interface_clause(spec.infno, "out"))

    def validate_request(self, envelope: Any) -> list[SchemaViolation]:
        """Envelope, then the input of the envelope's infno, then the profile's cross-region fields."""
        found = self._compiler.violations(self._request_ref, envelope, (), envelope_clause("req"))
        if not isinstance(envelope, Mapping):
            return found
        infno = envelope.get("infno")
        spec = self.registry._interfaces.get(infno) if isinstance(infno, str) else None
        if spec is None:
            if isinstance(infno, str) and infno and not any(v.path == "/infno" for v in found):
                found.append(unknown_infno(infno, len(self.registry._interfaces), self.registry.version))
            return sorted_by_path(self._known_deviations(found, envelope))
        if isinstance(envelope.get("input"), Mapping):
            found.extend(self.validate_input(spec.infno, envelope["input"]))
            found.extend(self._cross_region_violations(spec, envelope))
        return sorted_by_path(self._known_deviations(found, envelope))

    def validate_response(self, infno: str, envelope: Any) -> list[SchemaViolation]:
        """Envelope, and the output node when the response reports success (infcode 0)."""
        spec = self.registry.interface(infno)
        found = self._compiler.violations(self._response_ref, envelope, (), envelope_clause("resp"))
        succeeded = self._succeeded(envelope) or (
            "infcode-string" in self._tolerated and isinstance(envelope, Mapping) and envelope.get("infcode") == "0")
        if succeeded and "output" in envelope:
            found.extend(self.validate_output(spec.infno, envelope["output"]))
        return sorted_by_path(self._known_deviations(found, envelope))

    def _known_deviations(self, found: list[SchemaViolation], message: Any) -> list[SchemaViolation]:
        """Known real-world deviations named (specs/<version>/deviations.json); see harness/specs/deviations.py."""
        if not found:
            return found
        return self.registry.deviation_catalogue().classify(found, message, self._tolerated)

    @staticmethod
    def _succeeded(envelope: Any) -> bool:
        if not isinstance(envelope, Mapping):
            return False
        infcode = envelope.get("infcode")  # 0.0 is the integer 0 to JSON Schema, so it counts as success too
        return isinstance(infcode, int | float) and not isinstance(infcode, bool) and infcode == 0

    def _cross_region_violations(self, spec: InterfaceSpec, envelope: Mapping[str, Any]) -> list[SchemaViolation]:
        return cross_region_violations(spec, envelope, self._cross_region.get(spec.infno),
                                       self._node_aliases.get(spec.infno, {}))
