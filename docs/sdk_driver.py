#!/usr/bin/env python3
"""Drive a third-party HIS SDK against the client judge (issue 11). Not a test; not imported by the package.

The SDK under test is the public Python SDK `hzg19700304/medical-insurance-interface-SDK`, checked out
outside the project (e.g. /tmp/sdk). It needs MariaDB for its configuration tables; run this script with a
Python environment that has the SDK's requirements (requests, PyMySQL, DBUtils, SQLAlchemy, redis,
pydantic, python-dotenv), never the project's. See docs/client-sdk-driver.md for the setup and the results.

What it does, as an automated HIS test would:
  1. starts `hsa-cert client serve --port P --out DIR --plan PLAN --profile PROFILE [--strict]` (or uses a running one
     with --no-serve) and reads the checklist (`hsa-cert client checklist --plan PLAN --json`);
  2. configures the SDK the way a deployer does: one `medical_organization_config` row for the catalogue's
     default hospital with base_url = the judge, one `medical_interface_config` row per interface the HIS
     uses (the shipped initial data has only 1101, 1201 and 2201);
  3. per case: `POST /__admin/session/case {"action": "start"}`, the case's flow performed with the case's
     persona through the SDK's public API only (`MedicalInsuranceSDK.call(api_code, data=input,
     org_code=..., **kwargs)`), then `{"action": "end"}`; at last `POST /__admin/session/finish`;
  4. prints the judge's verdict and every finding (clause, grade, case, msgid) from DIR/results.json.

The platform behaviours the plan scripts are the judge's, switched on at case start: `lost-settlement-answer`
commits the 2207 and drops the connection (drop-after-commit, once); `gateway-503` answers the first 2207 with
HTTP 503 (once); `settlement-timeout` answers the 2207 after 35 s. The driver arranges nothing itself: what the
SDK does then (its HTTP layer's retries, or an exception to the HIS) is what is judged. The HIS layer on top of
the SDK does what the SDK offers for it: the SDK has no 冲正 / query helper, so on a NetworkException it reports
the outcome as unknown to the operator.

--as-shipped: the SDK as published. --patched: four monkeypatches, applied here, never to the SDK's files:
  msgid      ProtocolProcessor._generate_message_id -> fixmedins_code + yyyyMMddHHmmss + 4-digit sequence
  mdtrtarea  OrganizationConfig.from_db_record fills region_code from the table's area_code column (the
             shipped DDL has no region_code column, so mdtrtarea_admvs is always "")
  sign-no    MedicalInsuranceSDK.call forwards the caller's sign_no (from 9001's answer) into the envelope
  insuplc    MedicalInsuranceSDK.call forwards the caller's insuplc_admdvs (the insured region 1101 returned)
Further patches (`--patch NAME`, repeatable): recover (the SDK keeps the msgid of the request it built, which it
never tells its caller, so that the HIS can send 2601 冲正 with omsgid/oinfno when a settlement's answer is lost:
as shipped a HIS on this SDK cannot name the call to undo, and 5203 needs the setl_id it never got),
api-name (_api_name = the infno), content-type (application/json), null ("" instead of "null").

    /tmp/sdkvenv/bin/python docs/sdk_driver.py --sdk /tmp/sdk --hsa-cert .venv/bin/hsa-cert \
        --port 18611 --out reports/sdk/as-shipped --as-shipped
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parent.parent
FOUR = ("msgid", "mdtrtarea", "sign-no", "insuplc")
EXTRA = ("recover", "api-name", "content-type", "null")


# --- the judge ------------------------------------------------------------------------------------------


def admin(port: int, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method="POST" if data else "GET",
                                     headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return dict(json.loads(answer.read() or b"{}"))


def wait_for_judge(port: int, process: subprocess.Popen[bytes] | None, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            sys.exit(f"hsa-cert client serve exited with {process.returncode}")
        try:
            admin(port, "/__admin/session")
            return
        except (urllib.error.URLError, OSError):
            time.sleep(0.5)
    sys.exit(f"no judge on port {port}")


# --- the SDK's configuration (what a deployer inserts) ------------------------------------------------------


def configure(db: dict[str, Any], hospital: dict[str, Any], base_url: str, infnos: list[str]) -> None:
    import pymysql  # the SDK's own driver

    conn = pymysql.connect(**db, charset="utf8mb4", autocommit=True)
    with conn.cursor() as cur:
        code = hospital["fixmedins_code"]
        area = hospital["mdtrtarea_admvs"]
        cur.execute("DELETE FROM medical_organization_config WHERE org_code = %s", (code,))
        cur.execute(
            "INSERT INTO medical_organization_config (org_code, org_name, org_type, province_code, city_code,"
            " area_code, app_id, app_secret, base_url, is_active, is_test_env) VALUES"
            " (%s, %s, '01', %s, %s, %s, 'his-ak', 'his-sk', %s, 1, 1)",
            (code, hospital["fixmedins_name"], area[:2] + "0000", area[:4] + "00", area, base_url))
        for infno in infnos:
            cur.execute("SELECT 1 FROM medical_interface_config WHERE api_code = %s", (infno,))
            if cur.fetchone() is None:
                cur.execute("INSERT INTO medical_interface_config (api_code, api_name, business_category, "
                            "business_type, required_params) VALUES (%s, %s, 'cross-province', 'call', '{}')",
                            (infno, f"interface {infno}"))
        # the shipped 2201 row requires fields of another province's 2201 (ipt_otp_no as number…): keep it lax
        cur.execute("UPDATE medical_interface_config SET required_params = '{}', validation_rules = '{}' "
                    "WHERE api_code = '2201'")
    conn.close()


# --- the patches (monkeypatches of the SDK's classes, in this process only) ------------------------------


def apply_patches(patches: set[str], fixmedins_code: str) -> None:
    from medical_insurance_sdk.core import gateway_auth, http_client, protocol_processor
    from medical_insurance_sdk.models import config as config_models
    from medical_insurance_sdk.sdk import MedicalInsuranceSDK

    if "msgid" in patches:
        serial = itertools.count(1)
        protocol_processor.ProtocolProcessor._generate_message_id = (  # type: ignore[method-assign]
            lambda self: f"{fixmedins_code}{datetime.now():%Y%m%d%H%M%S}{next(serial) % 10000:04d}")
    if "mdtrtarea" in patches:
        original = config_models.OrganizationConfig.from_db_record.__func__  # type: ignore[attr-defined]

        def from_db_record(cls: Any, record: dict[str, Any]) -> Any:
            return original(cls, {**record, "region_code": record.get("region_code") or record.get("area_code")})

        config_models.OrganizationConfig.from_db_record = classmethod(from_db_record)  # type: ignore[assignment]
    forwarded = {name for name, patch in (("sign_no", "sign-no"), ("insuplc_admdvs", "insuplc")) if patch in patches}
    if forwarded or "null" in patches:
        original_call = MedicalInsuranceSDK.call
        cls = protocol_processor.ProtocolProcessor

        def call(self: Any, api_code: str, data: dict, **kwargs: Any) -> Any:
            extra = {k: kwargs[k] for k in forwarded if kwargs.get(k)}
            if "null" in patches:
                extra.update(dev_no="", dev_safe_info="", cainfo="")
                extra.setdefault("sign_no", "")
            processor = self.protocol_processor
            processor.build_request = lambda a, d, o, **kw: cls.build_request(processor, a, d, o, **{**extra, **kw})
            try:
                return original_call(self, api_code, data, **kwargs)
            finally:
                del processor.build_request

        MedicalInsuranceSDK.call = call  # type: ignore[method-assign]
    if "recover" in patches:
        built = protocol_processor.ProtocolProcessor.build_request

        def build_request(self: Any, *args: Any, **kwargs: Any) -> Any:
            request = built(self, *args, **kwargs)
            MedicalInsuranceSDK.last_msgid = request.msgid  # type: ignore[attr-defined]
            return request

        protocol_processor.ProtocolProcessor.build_request = build_request  # type: ignore[method-assign]
    if "api-name" in patches or "content-type" in patches:
        generate = gateway_auth.GatewayHeaders.generate_headers

        def headers(self: Any) -> dict[str, str]:
            out = generate(self)
            if "api-name" in patches:
                out["_api_name"] = str(out["_api_name"]).removeprefix("api_")
            if "content-type" in patches:
                out["Content-Type"] = "application/json;charset=utf-8"
            return out

        gateway_auth.GatewayHeaders.generate_headers = headers  # type: ignore[method-assign]
        del http_client  # (Content-Type comes from the gateway headers, the HTTP client keeps it)


# --- the HIS: the application on top of the SDK ---------------------------------------------------------


class His:
    """A minimal outpatient HIS that talks to the platform only through the SDK's public API."""

    def __init__(self, sdk: Any, hospital: dict[str, Any], items: list[dict[str, Any]], patches: set[str]) -> None:
        self.sdk = sdk
        self.code = hospital["fixmedins_code"]
        self.area = hospital["mdtrtarea_admvs"]
        self.items = items
        self.patches = patches
        self.sign_no = ""
        self.people: dict[str, dict[str, Any]] = {}  # psn_no -> what 1101 returned (insured region, psn_type)
        self.ledger: list[dict[str, Any]] = []
        self.serial = 0
        self.log: list[str] = []

    def call(self, infno: str, data: dict[str, Any], who: dict[str, Any] | None = None) -> dict[str, Any] | None:
        """Output on success, None on a refusal; NetworkException (the answer is lost) propagates."""
        kwargs: dict[str, Any] = {"org_code": self.code, "sign_no": self.sign_no}
        if who is not None and who["psn_no"] in self.people:
            kwargs["insuplc_admdvs"] = self.people[who["psn_no"]]["insuplc_admdvs"]
        answer = self.sdk.call(infno, data=data, **kwargs)
        self.log.append(f"{infno} infcode={answer.infcode} {answer.err_msg or ''}".strip())
        return answer.output or {} if answer.infcode in (0, "0") else None

    def _now(self) -> str:
        return datetime.now().strftime("%Y-%m-%d %H:%M:%S")

    def _ident(self, who: dict[str, Any]) -> dict[str, Any]:
        known = self.people.get(who["psn_no"], {})
        return {"mdtrt_cert_type": who["mdtrt_cert_type"], "mdtrt_cert_no": who["mdtrt_cert_no"],
                "card_sn": who.get("card_sn") or "", "psn_cert_type": known.get("psn_cert_type", "01"),
                "certno": who["certno"], "psn_type": known.get("psn_type", "1101"), "psn_name": who["psn_name"]}

    # procedures named after the case ids of scenarios/client/hospital-outpatient.yaml

    def sign_in(self, who: Any) -> None:
        out = self.call("9001", {"signIn": {"opter_no": self.code, "mac": "00-16-3E-00-00-01", "ip": "127.0.0.1"}})
        self.sign_no = str(((out or {}).get("signinoutb") or {}).get("sign_no") or "")

    def person(self, who: dict[str, Any]) -> None:
        out = self.call("1101", {"data": {**{k: v for k, v in self._ident(who).items() if k != "psn_type"},
                                          "begntime": ""}})
        base = (out or {}).get("baseinfo") or {}
        rows = [r for r in (out or {}).get("insuinfo") or [] if r.get("insutype") == who["insutype"]]
        rows = rows or (out or {}).get("insuinfo") or [{}]
        self.people[who["psn_no"]] = {"insuplc_admdvs": str(rows[0].get("insuplc_admdvs") or ""),
                                      "psn_type": str(rows[0].get("psn_type") or "1101"),
                                      "psn_cert_type": str(base.get("psn_cert_type") or "01")}

    def visit(self, who: dict[str, Any]) -> tuple[str, str, Decimal] | None:
        self.serial += 1
        out = self.call("2201", {"data": {"psn_no": who["psn_no"], "insutype": who["insutype"], "begntime": self._now(),
                                          **self._ident(who), "ipt_otp_no": f"MZ{int(time.time())}{self.serial:02d}",
                                          "atddr_no": "D001", "dr_name": "张医生", "dept_code": "K01",
                                          "dept_name": "内科", "caty": "A03"}}, who)
        if out is None:
            return None
        mdtrt_id = str(out["data"]["mdtrt_id"])
        info = {"mdtrtinfo": {"mdtrt_id": mdtrt_id, "psn_no": who["psn_no"], "med_type": "11", "begntime": self._now(),
                              "main_cond_dscr": "", "dise_codg": "J06.900", "dise_name": "急性上呼吸道感染",
                              "exp_content": ""},
                "diseinfo": [{"diag_type": "1", "diag_srt_no": 1, "diag_code": "J06.900",
                              "diag_name": "急性上呼吸道感染", "diag_dept": "内科", "dise_dor_no": "D001",
                              "dise_dor_name": "张医生", "diag_time": self._now(), "vali_flag": "1"}]}
        if self.call("2203", info, who) is None:
            return None
        batch = f"B{self.serial:04d}"
        consult = next(i for i in self.items if i["alias"] == "consult")
        drug = next(i for i in self.items if i["alias"] not in ("consult", "bed", "nursing"))
        rows = []
        for n, (item, cnt) in enumerate(((consult, 1), (drug, 2)), 1):
            amount = (Decimal(item["pric"]) * cnt).quantize(Decimal("0.01"), ROUND_HALF_UP)
            rows.append({"feedetl_sn": f"{self.serial}{n:02d}", "mdtrt_id": mdtrt_id, "psn_no": who["psn_no"],
                         "chrg_bchno": batch, "rx_circ_flag": "0", "fee_ocur_time": self._now(),
                         "med_list_codg": item["med_list_codg"], "medins_list_codg": item["medins_list_codg"],
                         "det_item_fee_sumamt": float(amount), "cnt": float(cnt), "pric": float(item["pric"]),
                         "bilg_dept_codg": "K01", "bilg_dept_name": "内科", "bilg_dr_codg": "D001",
                         "bilg_dr_name": "张医生", "hosp_appr_flag": "1"})
        if self.call("2204", {"feedetail": rows}, who) is None:
            return None
        return mdtrt_id, batch, sum((Decimal(str(r["det_item_fee_sumamt"])) for r in rows), Decimal("0.00"))

    def settle_visit(self, who: dict[str, Any]) -> dict[str, Any] | None:
        from medical_insurance_sdk.exceptions import NetworkException

        visit = self.visit(who)
        if visit is None:
            return None
        mdtrt_id, batch, amount = visit
        data = {"psn_no": who["psn_no"], **self._ident(who), "med_type": "11", "medfee_sumamt": float(amount),
                "psn_setlway": "01", "mdtrt_id": mdtrt_id, "chrg_bchno": batch, "acct_used_flag": "1",
                "insutype": who["insutype"], "exp_content": ""}
        if self.call("2206", {"data": data}, who) is None:
            return None
        data.update(invono="", fulamt_ownpay_amt=0, overlmt_selfpay=0, preselfpay_amt=0, inscp_scp_amt=0)
        try:
            out = self.call("2207", {"data": data}, who)
        except NetworkException as exc:
            self.log.append(f"2207 lost: {exc} (the HIS shows: outcome unknown)")
            lost = getattr(self.sdk, "last_msgid", "")
            if "recover" in self.patches and lost:  # 冲正 the call whose outcome is unknown
                self.call("2601", {"data": {"psn_no": who["psn_no"], "omsgid": lost, "oinfno": "2207"}}, who)
            return None
        if out is None:
            return None
        info = dict(out.get("setlinfo") or {})
        self.ledger.append(info)
        return {"setl_id": info.get("setl_id"), "mdtrt_id": mdtrt_id, "info": info}

    def settle(self, who: dict[str, Any]) -> None:
        self.person(who)
        self.settle_visit(who)

    def settle_and_cancel(self, who: dict[str, Any]) -> None:
        self.person(who)
        settled = self.settle_visit(who)
        if settled is None:
            return
        out = self.call("2208", {"data": {"setl_id": settled["setl_id"], "mdtrt_id": settled["mdtrt_id"],
                                          "psn_no": who["psn_no"]}}, who)
        if out is not None:
            self.ledger.append(dict(out.get("setlinfo") or {}))

    lost_settlement_answer = settle
    gateway_503 = settle
    refused = settle

    def settlement_timeout(self, who: dict[str, Any]) -> None:
        if who["psn_no"] not in self.people:
            self.person(who)
        self.settle_visit(who)

    def end_of_day(self, who: Any) -> None:
        rows = [r for r in self.ledger if str(r.get("insutype")) == "310"]
        sums = {k: float(sum((Decimal(str(r.get(k) or 0)) for r in rows), Decimal("0.00")))
                for k in ("medfee_sumamt", "fund_pay_sumamt", "acct_pay")}
        today = datetime.now().strftime("%Y-%m-%d")
        optins = next((str(r["clr_optins"]) for r in rows if r.get("clr_optins")), self.area)
        clr_type = next((str(r["clr_type"]) for r in rows if r.get("clr_type")), "11")
        self.call("3201", {"data": {"insutype": "310", "clr_type": clr_type, "setl_optins": optins,
                                    "stmt_begndate": today, "stmt_enddate": today, **sums,
                                    "fixmedins_refd_setl_flag": "0",  # Hunan requires it (HN-only field)
                                    "fixmedins_setl_cnt": len([r for r in rows if r.get("setl_id")])}})
        self.call("9002", {"signOut": {"sign_no": self.sign_no, "opter_no": self.code}})

    def perform(self, case_id: str, who: dict[str, Any] | None) -> None:
        from medical_insurance_sdk.exceptions import MedicalInsuranceException

        name = "refused" if case_id.startswith("refused-") else case_id.replace("-", "_")
        try:
            getattr(self, name)(who)
        except MedicalInsuranceException as exc:  # the HIS shows the SDK's error and the operator moves on
            self.log.append(f"{case_id}: {type(exc).__name__}: {exc}")


# --- main -------------------------------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sdk", required=True, help="checkout of medical-insurance-interface-SDK (outside the project)")
    ap.add_argument("--hsa-cert", default=str(PROJECT / ".venv" / "bin" / "hsa-cert"))
    ap.add_argument("--port", type=int, default=18611)
    ap.add_argument("--out", required=True, help="evidence directory of the judge")
    ap.add_argument("--plan", default="hospital-outpatient")
    ap.add_argument("--profile", default="baseline")
    ap.add_argument("--no-serve", action="store_true", help="a judge already listens on --port")
    ap.add_argument("--strict", action="store_true", help="refuse what a platform may let through")
    mode = ap.add_mutually_exclusive_group(required=True)
    mode.add_argument("--as-shipped", action="store_true")
    mode.add_argument("--patched", action="store_true", help="the four patches: " + ", ".join(FOUR))
    mode.add_argument("--only", action="append", choices=FOUR + EXTRA, help="just these patches (repeatable)")
    ap.add_argument("--patch", action="append", default=[], choices=FOUR + EXTRA, help="an extra patch")
    ap.add_argument("--db", default="sdk:sdkpw@127.0.0.1:3306/medical_insurance", help="user:password@host:port/db")
    args = ap.parse_args()

    patches = set(FOUR if args.patched else args.only or ()) | set(args.patch)
    user_pw, _, host_db = args.db.partition("@")
    user, _, password = user_pw.partition(":")
    host_port, _, database = host_db.partition("/")
    host, _, port = host_port.partition(":")
    db = {"host": host, "port": int(port or 3306), "user": user, "password": password, "database": database}

    catalogue = PROJECT / "fixtures" / "catalogue"
    hospital = next(i for i in json.loads((catalogue / "institutions.json").read_text())["institutions"]
                    if i.get("default"))
    items = json.loads((catalogue / "items.json").read_text())["items"]
    checklist = json.loads(subprocess.run([args.hsa_cert, "client", "checklist", "--plan", args.plan, "--json"],
                                          check=True, capture_output=True).stdout)
    infnos = sorted({str(s).split("(")[0].split("|")[0].strip() for c in checklist["cases"] for s in c["flow"]}
                    | {"9001", "9002", "1101", "2601", "3201"})

    serve = None
    if not args.no_serve:
        Path(args.out).mkdir(parents=True, exist_ok=True)
        log = open(Path(args.out).parent / f"{Path(args.out).name}.serve.log", "wb")  # noqa: SIM115
        strict = ["--strict"] if args.strict else []
        serve = subprocess.Popen([args.hsa_cert, "client", "serve", "--port", str(args.port), "--out", args.out,
                                  "--plan", args.plan, "--profile", args.profile, *strict], stdout=log, stderr=log)
    wait_for_judge(args.port, serve)
    configure(db, hospital, f"http://127.0.0.1:{args.port}/fsi/api/rsfComIfsService/callService", infnos)

    sys.path.insert(0, str(Path(args.sdk).resolve()))
    os.environ.update(DB_HOST=db["host"], DB_PORT=str(db["port"]), DB_USER=db["user"], DB_PASSWORD=db["password"],
                      DB_DATABASE=db["database"])
    apply_patches(patches, hospital["fixmedins_code"])
    from medical_insurance_sdk import MedicalInsuranceSDK
    from medical_insurance_sdk.config.models import SDKConfig
    from medical_insurance_sdk.core.database import DatabaseConfig

    sdk = MedicalInsuranceSDK(SDKConfig(database_config=DatabaseConfig.from_env()))
    his = His(sdk, hospital, items, patches)
    print(f"SDK {'as shipped' if not patches else 'patched: ' + ', '.join(sorted(patches))}; plan {args.plan}, "
          f"profile {args.profile}, judge on port {args.port}")
    for case in checklist["cases"]:
        admin(args.port, "/__admin/session/case", {"action": "start", "case": case["id"]})
        before = len(his.log)
        started = time.monotonic()
        his.perform(case["id"], case["persona"])
        admin(args.port, "/__admin/session/case", {"action": "end", "case": case["id"]})
        print(f"  {case['id']:<24} {time.monotonic() - started:5.1f} s  " + " | ".join(his.log[before:]))
    sdk.close()
    admin(args.port, "/__admin/session/finish", {})
    code = serve.wait(timeout=600) if serve is not None else 0
    document = json.loads((Path(args.out) / "results.json").read_text())
    summary = document["summary"]
    print(f"judge: exit {code}; {summary['passed']}/{summary['total']} cases passed "
          f"(pass rate {summary['pass_rate']}); {len(document['findings'])} findings")
    seen: dict[tuple[str, str], list[str]] = {}
    for f in document["findings"]:
        seen.setdefault((f["clause"], f["grade"]), []).append(f"{f['case'].rsplit('.', 1)[-1]}:{f['msgid']}")
    for (clause, grade), where in sorted(seen.items()):
        print(f"  {grade:<6} {clause:<26} x{len(where):<3} first: {where[0]}")
    return code


if __name__ == "__main__":
    sys.exit(main())
