"""The interface specifications: load `specs/` into one registry, apply a province profile, validate.

Every JSON file under `specs/<version>/` and `specs/profiles/` is read once. Schemas (files with a
`$id`) are keyed by `$id`, and every `$ref` between them is resolved locally: nothing is fetched.
A province profile is a set of deviations from the national baseline (code-list variants, schema
overrides, fields required for cross-region business); applying one yields a `MessageValidator`
whose jsonschema-rs validators are compiled lazily, once per interface and direction. Errors become
`harness.model.SchemaViolation` values carrying the JSON pointer, the field's clause, expected versus
actual and its 中文 name.

The modules, each importing only those listed before it (type hints aside):

    navigation    JSON pointers and read-only navigation of schema documents by `$id`
    fields        InterfaceSpec and FieldSpec: an interface's nodes and fields, read from its schema
    records       CodeList, Rule, Cause
    profiles      Profile, `extends` merging, and applying a profile to the schema documents
    violations    validator errors -> SchemaViolation (pointer, clause, expected, actual, 中文 name)
    cross_region  R-XREGION-FIELDS, which JSON Schema cannot express
    validate      the only importer of jsonschema-rs: compiled validator cache, MessageValidator
    loader        reading specs/: SpecRegistry, load_registry, default_root
    grades        normative grades: the grades.json table, profile overrides, a finding's effective grade

Callers import from `harness.specs` itself; the module layout is not part of the API.
"""

from harness.errors import SpecError as SpecError  # re-exported: these names were always reachable here
from harness.model import SchemaViolation as SchemaViolation
from harness.specs.fields import FieldSpec, InterfaceSpec
from harness.specs.grades import (
    GRADE_LABELS,
    GradeTable,
    effective_grade,
    grade_table,
    override_for,
    scenario_grade,
    weaker,
)
from harness.specs.loader import DEFAULT_VERSION, SPECS_ENV, SpecRegistry, default_root, load_registry
from harness.specs.navigation import pointer_of, resolve_pointer
from harness.specs.profiles import Profile, deep_merge
from harness.specs.records import Cause, CodeList, Rule
from harness.specs.validate import DRAFT_2020_12, MessageValidator
from harness.specs.violations import json_type_name

__all__ = [
    "DEFAULT_VERSION",
    "DRAFT_2020_12",
    "GRADE_LABELS",
    "SPECS_ENV",
    "Cause",
    "CodeList",
    "FieldSpec",
    "GradeTable",
    "InterfaceSpec",
    "MessageValidator",
    "Profile",
    "Rule",
    "SpecRegistry",
    "deep_merge",
    "default_root",
    "effective_grade",
    "grade_table",
    "json_type_name",
    "load_registry",
    "override_for",
    "pointer_of",
    "resolve_pointer",
    "scenario_grade",
    "weaker",
]
