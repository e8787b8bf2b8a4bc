"""Making identities from archetypes (the only Faker user in the package), seeded and stable."""

from __future__ import annotations

import hashlib
import random
from datetime import date, timedelta
from types import MappingProxyType

from faker import Faker

from harness.errors import ConfigError
from harness.personas.checkdigit import gb11643_check_digit
from harness.personas.records import Archetype, Persona

# --- making identities --------------------------------------------------------------------------


def _stream_seed(seed: int, archetype: str, attempt: int) -> int:
    digest = hashlib.sha256(f"hsa-cert/personas/{seed}/{archetype}/{attempt}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def _digits(rng: random.Random, count: int) -> str:
    return "".join(str(rng.randrange(10)) for _ in range(count))


def _make_persona(arch: Archetype, seed: int, attempt: int, fake: Faker) -> Persona:
    """One identity. The draw order below is part of the stable output: append new draws at the end."""
    stream = _stream_seed(seed, arch.id, attempt)
    rng = random.Random(stream)
    fake.seed_instance(stream)
    male = rng.random() < 0.5
    first_year, last_year = arch.birth_years
    year = rng.randint(first_year, last_year)
    brdy = date(year, 1, 1) + timedelta(days=rng.randrange(365))
    serial = rng.randrange(0, 500) * 2 + (1 if male else 0)  # GB 11643: odd order code for men, even for women
    first17 = f"{arch.insuplc_admdvs}{brdy:%Y%m%d}{serial:03d}"
    certno = first17 + gb11643_check_digit(first17)
    psn_no = f"{arch.insuplc_admdvs[:2]}0000{_digits(rng, 14)}"  # province + 18 digits: fits str(30)
    card_no = rng.choice("ABCDEFGHJKLMN") + _digits(rng, 8)
    card_sn = f"{arch.insuplc_admdvs}D156000005{rng.getrandbits(64):016X}"  # 32 chars: region, country, version, serial
    insu_year = rng.randint(min(max(year + 18, 1998), 2021), 2021)
    psn_insu_date = date(insu_year, 1, 1) + timedelta(days=rng.randrange(365))
    filings = tuple(MappingProxyType({"trt_dcla_detl_sn": f"{arch.insuplc_admdvs}{_digits(rng, 14)}", **entry})
                    for entry in arch.filings)
    chronic = tuple(MappingProxyType({"trt_dcla_detl_sn": f"{arch.insuplc_admdvs}{_digits(rng, 14)}", **entry})
                    for entry in arch.chronic)
    name = fake.last_name() + (fake.first_name_male() if male else fake.first_name_female())
    tel = fake.phone_number()
    emp_name = fake.company() if arch.insutype == "310" else ""
    return Persona(
        archetype=arch.id, cause=arch.cause, behaviour=arch.behaviour, psn_no=psn_no, psn_name=name,
        gend="1" if male else "2", brdy=brdy, naty="01", psn_cert_type="01", certno=certno,
        mdtrt_cert_type=arch.mdtrt_cert_type, mdtrt_cert_no=certno if arch.mdtrt_cert_type == "02" else card_no,
        card_no=card_no, card_sn=card_sn, insutype=arch.insutype, psn_type=arch.psn_type,
        insuplc_admdvs=arch.insuplc_admdvs, cvlserv_flag=arch.cvlserv_flag, balc=arch.balc, emp_name=emp_name,
        tel=tel, psn_insu_date=psn_insu_date, card_state=arch.card_state, insu_stas=arch.insu_stas,
        contribution=arch.contribution, benefits=arch.benefits, filings=filings, chronic=chronic,
        late_filing=arch.late_filing, emergency=arch.emergency,
    )


def _make_personas(archetypes: tuple[Archetype, ...], seed: int) -> tuple[Persona, ...]:
    fake = Faker("zh_CN")
    taken: set[str] = set()
    out = []
    for arch in sorted(archetypes, key=lambda a: a.id):  # identity streams never depend on file order
        for attempt in range(100):
            persona = _make_persona(arch, seed, attempt, fake)
            keys = {persona.psn_no, persona.certno, persona.card_no, persona.card_sn}
            if len(keys) == 4 and not keys & taken:
                break
        else:  # pragma: no cover - needs 100 collisions of 14+ random digits
            raise ConfigError(f"could not make a unique identity for archetype {arch.id}", hint="try another seed")
        taken |= keys
        out.append(persona)
    order = {arch.id: index for index, arch in enumerate(archetypes)}
    return tuple(sorted(out, key=lambda p: order[p.archetype]))


