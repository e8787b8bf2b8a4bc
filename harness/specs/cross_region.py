"""R-XREGION-FIELDS: fields a profile requires when the insured region differs from the treating region.

JSON Schema cannot compare two fields of a message (insuplc_admdvs with mdtrtarea_admvs), so this rule
is checked here, in code, after the schemas. The findings are `SchemaViolation`s like the others.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from harness.model import SchemaViolation
from harness.specs.fields import InterfaceSpec
from harness.specs.navigation import pointer_of
from harness.specs.violations import short_json

__all__ = ["cross_region_violations"]


def cross_region_violations(spec: InterfaceSpec, envelope: Mapping[str, Any], required: Sequence[str] | None,
                            node_aliases: Mapping[str, str]) -> list[SchemaViolation]:
    """Violations for each `required` field missing or blank in the first input node of a cross-region request.

    `node_aliases` maps the spec's node names to the province's (a message may use either).
    """
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
        node = node_aliases.get(node, node)
    value = data.get(node)
    if isinstance(value, Mapping):
        targets = [((node,), value)]
    elif isinstance(value, list):
        targets = [((node, i), item) for i, item in enumerate(value) if isinstance(item, Mapping)]
    else:
        return []
    found: list[SchemaViolation] = []
    titles: dict[tuple[str, str], Any] | None = None  # built for a finding only: most requests have none
    for where, record in targets:
        for name in required:
            current = record.get(name)
            if current not in (None, "") and not (isinstance(current, str) and not current.strip()):
                continue
            if titles is None:
                titles = {(f.node, f.name): f for f in spec.fields("in")}
            info = titles.get((spec_node, name))
            clause = info.clause if info else f"{spec.infno}.in.{spec_node}.{name}"
            found.append(SchemaViolation(
                path=pointer_of(("input", *where, name)),
                clause="R-XREGION-FIELDS",
                message=(f"required for cross-region business ({clause}): insuplc_admdvs {insuplc} "
                         f"differs from mdtrtarea_admvs {treating}"),
                expected="present and non-empty",
                actual="missing" if name not in record else short_json(current),
                field_zh=info.title_zh if info else "",
            ))
    return found
