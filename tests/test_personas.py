"""The synthetic-person catalogue: valid, stable, complete identities; clear errors on bad fixtures."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from harness.cli import app
from harness.errors import ConfigError
from harness.personas import (
    CATALOGUE_DIR,
    DEFAULT_SEED,
    filing_dates,
    gb11643_check_digit,
    is_valid_certno,
    load_catalogue,
)

ROOT = Path(__file__).resolve().parents[1]
SECTION_D_ARCHETYPES = {
    "filed-employee", "filed-resident", "not-filed", "lapsed-contributions", "benefits-suspended", "inactive-card",
    "region-not-enabled", "filing-expired", "filed-elsewhere", "chronic-filed", "chronic-not-filed", "late-filing",
    "emergency", "filed-employee-2", "filed-resident-2",
}
FAILURE_CAUSES = {
    "not-filed", "lapsed-contributions", "benefits-suspended", "inactive-card", "region-not-enabled",
    "institution-not-enabled", "filing-expired", "filed-elsewhere", "chronic-not-filed",
}


@pytest.fixture
def fixture_copy(tmp_path: Path) -> Path:
    root = tmp_path / "catalogue"
    shutil.copytree(CATALOGUE_DIR, root)
    return root


def _edit(root: Path, name: str, change) -> None:  # type: ignore[no-untyped-def]
    path = root / name
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


# --- GB 11643-1999 ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first17", "check"),
    # The standard's own examples, then two whose weighted sums give remainders 0 ("1") and 2 ("X").
    [("11010519491231002", "X"), ("44052418800101001", "4"), ("11010119900307001", "1"), ("11010119900307002", "X")],
)
def test_check_digit_vectors(first17: str, check: str) -> None:
    weights = [2 ** (17 - i) % 11 for i in range(17)]  # the standard's definition, not the module's table
    assert "10X98765432"[sum(int(d) * w for d, w in zip(first17, weights, strict=True)) % 11] == check
    assert gb11643_check_digit(first17) == check


@pytest.mark.parametrize("bad", ["1101051949123100", "1101051949123100a", "１１０１０５１９４９１２３１００２"])
def test_check_digit_rejects_bad_input(bad: str) -> None:
    with pytest.raises(ValueError):
        gb11643_check_digit(bad)


def test_is_valid_certno() -> None:
    assert is_valid_certno("11010519491231002X")
    assert not is_valid_certno("110105194912310021")  # wrong check character
    assert not is_valid_certno("11010519491231002x")  # the spec's X is upper case
    assert not is_valid_certno("110105194902300027")  # 30 February
    assert not is_valid_certno("11010519491231002")
    assert not is_valid_certno(None)  # type: ignore[arg-type]


# --- the catalogue ----------------------------------------------------------------------------


def test_every_archetype_of_the_contract_is_present_once() -> None:
    names = [p.archetype for p in load_catalogue().personas]
    assert set(names) >= SECTION_D_ARCHETYPES and len(names) == len(set(names))


def test_identities_are_valid_and_consistent() -> None:
    catalogue = load_catalogue()
    for p in catalogue.personas:
        assert is_valid_certno(p.certno), p.archetype
        assert p.certno[:6] == p.insuplc_admdvs and p.certno[6:14] == p.brdy.strftime("%Y%m%d")
        assert int(p.certno[16]) % 2 == (1 if p.gend == "1" else 0), "order code parity encodes the sex"
        assert p.psn_no.isdigit() and len(p.psn_no) <= 30 and p.psn_no[:2] == p.insuplc_admdvs[:2]
        assert len(p.card_sn) == 32 and p.card_sn.startswith(p.insuplc_admdvs)
        assert 2 <= len(p.psn_name) <= 4 and p.naty == "01" and p.psn_cert_type == "01"
        expected_no = {"02": p.certno, "03": p.card_no}[p.mdtrt_cert_type]
        assert p.mdtrt_cert_no == expected_no
        region = catalogue.region(p.insuplc_admdvs)
        assert region is not None and "insured" in region.roles
        assert catalogue.policy(p.insuplc_admdvs, p.insutype) is not None
    for key in ("psn_no", "certno", "card_no", "card_sn"):
        values = [getattr(p, key) for p in catalogue.personas]
        assert len(values) == len(set(values)), f"{key} values must be unique"


def test_failure_archetypes_cover_the_person_causes() -> None:
    catalogue = load_catalogue()
    causes = {p.cause for p in catalogue.personas if p.cause}
    assert causes == FAILURE_CAUSES - {"institution-not-enabled"}  # that one is the institution's defect
    assert any(not i.networked and i.kind == "hospital" for i in catalogue.institutions)


def test_fixture_facts_the_flows_rely_on() -> None:
    c = load_catalogue()
    home = c.default_institution()
    assert home.networked and home.kind == "hospital" and home.hosp_grade == "3"
    assert any(i.kind == "pharmacy" and i.networked for i in c.institutions)
    treating = {r.admdvs for r in c.regions if "treating" in r.roles}
    assert len(treating) >= 2 and home.mdtrtarea_admvs in treating
    assert any(not r.xregion_outpatient for r in c.regions if "insured" in r.roles)
    assert any(not i.mapped for i in c.items)
    assert any(float(i.pric) > float(i.pric_uplmt_amt) for i in c.items)
    assert {i.chrgitm_lv for i in c.items} == {"01", "02", "03"}
    expired = c.persona("filing-expired").filings[0]
    begin, end = filing_dates(expired, date(2024, 3, 31))
    assert end == date(2024, 3, 1) and begin < end
    elsewhere = c.persona("filed-elsewhere").filings[0]["mdtrtarea_admvs"]
    assert elsewhere != home.mdtrtarea_admvs and elsewhere in treating
    assert c.persona("filed-card").mdtrt_cert_type == "03"
    assert c.persona("chronic-filed").chronic and not c.persona("chronic-not-filed").chronic
    assert c.persona("late-filing").late_filing and not c.persona("late-filing").filings
    assert c.persona("emergency").emergency and not c.persona("emergency").filings
    assert c.policy("430102", "310").rate("inpatient", "3").deductible == "900.00"
    assert c.item("amoxicillin") is c.item("YP0001")


def test_lookups() -> None:
    c = load_catalogue()
    card = c.persona("filed-card")
    assert c.find_persona(mdtrt_cert_type="03", mdtrt_cert_no=card.card_no) is card
    assert c.find_persona(mdtrt_cert_type="02", mdtrt_cert_no=card.certno) is card
    assert c.find_persona(mdtrt_cert_type="02", mdtrt_cert_no=card.card_no) is None
    assert c.find_persona(psn_no=card.psn_no) is card and c.find_persona(certno="11010519491231002X") is None
    with pytest.raises(ConfigError) as info:
        c.persona("nobody")
    assert "filed-employee" in info.value.hint
    with pytest.raises(ConfigError):
        c.institution("H00000000000")


def test_age_is_counted_in_full_years() -> None:
    p = load_catalogue().persona("filed-employee")
    birthday = p.brdy.replace(year=p.brdy.year + 40) if (p.brdy.month, p.brdy.day) != (2, 29) else None
    if birthday is not None:
        assert p.age_on(birthday) == 40
        assert p.age_on(date.fromordinal(birthday.toordinal() - 1)) == 39


def test_filings_are_read_only() -> None:
    filing = load_catalogue().persona("filed-employee").filings[0]
    with pytest.raises(TypeError):
        filing["mdtrtarea_admvs"] = "110101"  # type: ignore[index]


# --- stability --------------------------------------------------------------------------------


def test_same_seed_same_catalogue_and_other_seed_other_people(fixture_copy: Path) -> None:
    cached = load_catalogue(DEFAULT_SEED)
    fresh = load_catalogue(DEFAULT_SEED, root=fixture_copy)  # another cache key: generated again
    assert fresh is not cached and fresh.to_json() == cached.to_json()
    other = load_catalogue(DEFAULT_SEED + 1)
    assert {p.certno for p in other.personas}.isdisjoint(p.certno for p in cached.personas)


def test_identities_do_not_depend_on_file_order(fixture_copy: Path) -> None:
    _edit(fixture_copy, "archetypes.json", lambda d: d["archetypes"].reverse())
    reordered = {p.archetype: p.to_json() for p in load_catalogue(root=fixture_copy).personas}
    original = {p.archetype: p.to_json() for p in load_catalogue().personas}
    assert reordered == original


def test_same_catalogue_in_another_process() -> None:
    code = (
        "import json; from harness.personas import load_catalogue; "
        "print(json.dumps(load_catalogue().to_json(), ensure_ascii=True, sort_keys=True))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONHASHSEED": "12345"}).stdout  # a different hash() order
    assert json.loads(out) == json.loads(json.dumps(load_catalogue().to_json()))


# --- to_json and the CLI ----------------------------------------------------------------------


def test_to_json_shape() -> None:
    data = load_catalogue().to_json()
    assert set(data) == {"personas", "institutions", "items"}
    persona = data["personas"][0]
    for key in ("archetype", "mdtrt_cert_type", "mdtrt_cert_no", "card_sn", "psn_cert_type", "certno", "psn_name",
                "insutype", "insuplc_admdvs", "behaviour", "psn_no", "gend", "brdy", "balc", "filings", "chronic"):
        assert key in persona, key
    assert "age" not in persona  # time-dependent: not part of the stable catalogue
    assert {"fixmedins_code", "fixmedins_name", "mdtrtarea_admvs", "hosp_lv", "networked"} <= set(
        data["institutions"][0])
    assert {"med_list_codg", "medins_list_codg", "pric", "chrgitm_lv", "mapped"} <= set(data["items"][0])
    json.dumps(data, ensure_ascii=False)  # plain JSON types only


def test_cli_personas_table_and_json() -> None:
    runner = CliRunner()
    table = runner.invoke(app, ["platform", "personas"])
    assert table.exit_code == 0, table.output
    assert "filed-employee" in table.output and "H52010200001" in table.output
    as_json = runner.invoke(app, ["platform", "personas", "--json", "--seed", "7"])
    assert as_json.exit_code == 0, as_json.output
    data = json.loads(as_json.output)
    assert data == json.loads(json.dumps(load_catalogue(7).to_json()))
    assert "\\u" not in as_json.output  # ensure_ascii=False


# --- malformed fixtures -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "change", "names"),
    [
        ("archetypes.json", lambda d: d["archetypes"][2].pop("insutype"), "archetypes[2].insutype"),
        ("archetypes.json", lambda d: d["archetypes"][0].update(balc="12.5"), "archetypes[0].balc"),
        ("archetypes.json", lambda d: d["archetypes"][0].update(card_state="blocked"), "archetypes[0].card_state"),
        ("archetypes.json", lambda d: d["archetypes"][1]["filings"][0].update(mdtrtarea_admvs="430102"),
         "archetypes[1].filings[0].mdtrtarea_admvs"),
        ("archetypes.json", lambda d: d["archetypes"][0].update(insuplc_admdvs="110101"),
         "archetypes[0].insuplc_admdvs"),
        ("institutions.json", lambda d: d["institutions"][1].update(networked="yes"), "institutions[1].networked"),
        ("institutions.json", lambda d: d["institutions"][0].update(default=False), "default"),
        ("items.json", lambda d: d["items"][3].update(pric="12,50"), "items[3].pric"),
        ("items.json", lambda d: d["items"][1].update(alias="amoxicillin"), "items[1].alias"),
        ("regions.json", lambda d: d["regions"][0].update(admdvs="4301"), "regions[0].admdvs"),
        ("policies.json", lambda d: d["policies"][0]["levels"]["2"].pop("inpatient"), "policies[0].levels.2.inpatient"),
        ("policies.json", lambda d: d.pop("policies"), "policies"),
    ],
)
def test_malformed_fixture_names_file_and_key(fixture_copy: Path, name: str, change, names: str) -> None:  # type: ignore[no-untyped-def]
    _edit(fixture_copy, name, change)
    with pytest.raises(ConfigError) as info:
        load_catalogue(root=fixture_copy)
    text = info.value.render()
    assert name in text and names in text, text


def test_invalid_json_and_missing_file(fixture_copy: Path) -> None:
    (fixture_copy / "items.json").write_text('{"items": [', encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_catalogue(root=fixture_copy)
    assert "items.json" in info.value.render()
    (fixture_copy / "items.json").unlink()
    with pytest.raises(ConfigError, match=r"missing: items\.json"):
        load_catalogue(seed=3, root=fixture_copy)


def test_causes_are_failure_causes_of_the_spec_data() -> None:
    rules = json.loads((ROOT / "specs" / "v1.1.27" / "rules.json").read_text(encoding="utf-8"))
    known = {cause["id"] for cause in rules["causes"]}
    assert {p.cause for p in load_catalogue().personas if p.cause} <= known
