"""Site config: the documented examples load; every error names the file, the key and what is expected."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from harness.errors import ConfigError
from harness.personas import load_catalogue
from harness.siteconfig import CAPABILITIES, embedded_site, load_site
from harness.specs import load_registry

ROOT = Path(__file__).resolve().parents[1]
SITES = ROOT / "fixtures" / "sites"

MINIMAL = """
[site]
id = "t1"
base_url = "http://127.0.0.1:8080/"
fixmedins_code = "H52010200001"
fixmedins_name = "测试医院"
mdtrtarea_admvs = "520102"
capabilities = ["outpatient"]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "site.toml"
    path.write_text(text, encoding="utf-8")
    return path


def known() -> dict:
    return {"profiles": load_registry().profiles(), "archetypes": [a.id for a in load_catalogue().archetypes]}


def test_example_province_site_loads() -> None:
    site = load_site(SITES / "example-province.toml", **known())
    assert site.profile == "hunan" and site.gateway.family == "csb"
    assert site.gateway.credential_env == {"access_key": "HSA_CSB_ACCESS_KEY", "secret_key": "HSA_CSB_SECRET_KEY"}
    assert site.limits.rate_limit_per_s == 5 and site.limits.timeout_s == 15
    assert site.identities["filed-employee"]["balc"] == Decimal("1000.00")  # exact, never a float
    assert site.items["amoxicillin"]["medins_list_codg"] == "YP0001"
    assert site.template_values()["dept_code"] == "A03"
    assert not site.reference


def test_embedded_example_takes_identities_from_the_catalogue() -> None:
    site = load_site(SITES / "embedded.toml", **known())
    derived = embedded_site(site.base_url)
    assert site.reference
    assert site.identities == derived.identities and site.items == derived.items
    home = load_catalogue().default_institution()
    assert (site.fixmedins_code, site.mdtrtarea_admvs) == (home.fixmedins_code, home.mdtrtarea_admvs)


def test_embedded_site_provisions_every_archetype() -> None:
    site = embedded_site("http://127.0.0.1:9999/")
    catalogue = load_catalogue()
    assert set(site.identities) == {a.id for a in catalogue.archetypes}
    assert site.base_url == "http://127.0.0.1:9999"
    assert site.capabilities == CAPABILITIES and site.reference
    assert site.identities["filed-employee"]["psn_no"] == catalogue.persona("filed-employee").psn_no


def test_minimal_site_gets_defaults(tmp_path: Path) -> None:
    site = load_site(write(tmp_path, MINIMAL))
    assert site.base_url == "http://127.0.0.1:8080" and site.profile == "baseline"
    assert site.gateway.family == "none" and site.limits.breaker_threshold == 5
    assert site.supports(["outpatient"]) and not site.supports(["inpatient"])


@pytest.mark.parametrize(("change", "key", "expected"), [
    (lambda t: t.replace('id = "t1"\n', ""), "site.id", "missing"),
    (lambda t: t.replace('"520102"', '"5201"'), "site.mdtrtarea_admvs", "6-digit"),
    (lambda t: t.replace('"http://127.0.0.1:8080/"', '"ftp://x"'), "site.base_url", "http"),
    (lambda t: t.replace('["outpatient"]', '["outpatinet"]'), "site.capabilities", "outpatient"),
    (lambda t: t.replace('["outpatient"]', '"outpatient"'), "site.capabilities", "a list"),
    (lambda t: t + 'colour = "red"\n', "site.colour", "allowed here"),
    (lambda t: t + '[limits]\ntimeout_s = "fast"\n', "limits.timeout_s", "a number"),
    (lambda t: t + '[limits]\nbreaker_threshold = 0\n', "limits.breaker_threshold", "integer"),
    (lambda t: t + '[gateway]\nfamily = "tif"\npaasid_env = "HSA_P"\n', "gateway.token_env", "missing"),
    (lambda t: t + '[gateway]\nfamily = "tif"\npaasid_env = "HSA_P"\ntoken_env = "s3cr3t value!"\n',
     "gateway.token_env", "NAME of an environment variable"),
    (lambda t: t + '[gateway]\nfamily = "vpn"\n', "gateway.family", "one of none, tif, csb"),
    (lambda t: t + '[identities.filed-employee]\npsn_no = ["a"]\n', "identities.filed-employee.psn_no", "string"),
    (lambda t: t + '[identities.filed-emploee]\npsn_no = "1"\n', "identities.filed-emploee", "known archetype"),
    (lambda t: t.replace("[site]\n", "[site]\ncatalogue_seed = 1\n"), "site.catalogue_seed", "reference = true"),
    (lambda t: t.replace("[site]\n", '[site]\nprofile = "atlantis"\n'), "site.profile", "one of"),
])
def test_errors_name_the_file_the_key_and_the_expectation(tmp_path: Path, change, key: str, expected: str) -> None:
    path = write(tmp_path, change(MINIMAL))
    with pytest.raises(ConfigError) as caught:
        load_site(path, **known())
    error = caught.value
    assert str(path) in error.location and key in error.location
    assert expected in error.render()


def test_not_toml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid TOML") as caught:
        load_site(write(tmp_path, "[site\n"))
    assert "site.toml" in caught.value.location
    with pytest.raises(ConfigError, match="cannot read"):
        load_site(tmp_path / "absent.toml")


def test_credentials_come_from_the_environment_and_never_show(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL + '[gateway]\nfamily = "tif"\npaasid_env = "HSA_T_P"\ntoken_env = "HSA_T_T"\n')
    site = load_site(path)
    secrets = {"HSA_T_P": "paas-123", "HSA_T_T": "tok-secret-456"}
    assert site.gateway.credentials(secrets) == {"paasid": "paas-123", "token": "tok-secret-456"}
    assert "tok-secret-456" not in repr(site) and "tok-secret-456" not in str(site.describe())
    assert site.gateway.secret_env(secrets) == {"paas-123": "HSA_T_P", "tok-secret-456": "HSA_T_T"}
    with pytest.raises(ConfigError) as caught:
        site.gateway.credentials({"HSA_T_P": "paas-123"}, source=str(path))
    assert "HSA_T_T (gateway.token_env)" in caught.value.render()
