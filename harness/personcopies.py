"""Further test persons of every archetype for the embedded reference platform (`--persons N`, for `--jobs`).

A copy of an archetype's persona has the same behaviour, filings, balance and name, and new numbers:
psn_no, certno (with a valid GB 11643 check digit, the same birth date and sex), card number, card_sn
and filing serials, unique across the catalogue. The session seeds the copies into the platform's
state and gives them to the embedded site config as the archetype's further persons.
"""

from __future__ import annotations

from dataclasses import replace
from types import MappingProxyType
from typing import Any

from harness.personas import Catalogue, Persona, gb11643_check_digit

__all__ = ["more_personas"]


def more_personas(catalogue: Catalogue, per_archetype: int) -> tuple[Persona, ...]:
    """`per_archetype - 1` further persons of every archetype for the embedded platform (`--persons`).

    Each is a copy of the archetype's persona (same behaviour, filings, balance, name) with new numbers:
    psn_no, certno (a valid check digit), card, card_sn and filing serials, unique across the catalogue.
    """
    out = []
    for copy in range(1, max(1, per_archetype)):
        for persona in catalogue.personas:
            out.append(_persona_copy(persona, copy))
    return tuple(out)


def _persona_copy(persona: Persona, copy: int) -> Persona:
    def shifted(digits: str) -> str:  # the same length, another number (copy 1..n never wraps onto the original)
        return f"{(int(digits) + copy * 7919) % 10 ** len(digits):0{len(digits)}d}"

    first17 = persona.certno[:14] + f"{(int(persona.certno[14:17]) + 2 * copy) % 1000:03d}"  # keeps the sex digit
    certno = first17 + gb11643_check_digit(first17)
    card_no = persona.card_no[0] + shifted(persona.card_no[1:])
    serials: dict[str, list[Any]] = {"filings": [], "chronic": []}
    for kind in serials:
        for entry in getattr(persona, kind):
            number = str(entry["trt_dcla_detl_sn"])
            serials[kind].append(MappingProxyType({**entry, "trt_dcla_detl_sn": number[:6] + shifted(number[6:])}))
    return replace(persona, psn_no=persona.psn_no[:6] + shifted(persona.psn_no[6:]), certno=certno, card_no=card_no,
                   mdtrt_cert_no=certno if persona.mdtrt_cert_no == persona.certno else card_no,
                   card_sn=persona.card_sn[:-8] + f"{(int(persona.card_sn[-8:], 16) + copy) % 16 ** 8:08X}",
                   filings=tuple(serials["filings"]), chronic=tuple(serials["chronic"]))

