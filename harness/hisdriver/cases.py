"""The built-in HIS's inpatient and pharmacy procedures (a mixin of HisDriver: it uses its call, send, envelope,
bug and ledger)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from harness.platform.samples import (
    admit_input,
    discharge_input,
    fee_lines,
    inpatient_settle_input,
    reverse_input,
    total,
)

__all__ = ["StayAndPurchaseCases"]


class StayAndPurchaseCases:
    """Inpatient (2401 → 2301 → 2402 → 2303 → 2304) and pharmacy (2101 → 2102, 2103) cases."""

    his: Any
    catalogue: Any
    ledger: list[dict[str, Any]]
    _serial: int
    call: Any
    send: Any
    envelope: Any
    bug: Any
    _person: Any
    _record: Any
    _drug: Any

    # --- pharmacy ---------------------------------------------------------------------------------

    def _purchase(self, who: Any) -> dict[str, Any]:
        self._serial += 1
        drug = self.catalogue.item(self._drug())
        rows = fee_lines(who, "", [(drug, 2)], chrg_bchno="")
        details = [{"feedetl_sn": f"YD{self._serial:04d}{n}", "rx_circ_flag": "0", "fee_ocur_time": r["fee_ocur_time"],
                    "med_list_codg": r["med_list_codg"], "medins_list_codg": r["medins_list_codg"],
                    "det_item_fee_sumamt": r["det_item_fee_sumamt"], "cnt": r["cnt"], "pric": r["pric"]}
                   for n, r in enumerate(rows, 1)]  # fmt: skip
        if self.bug("row-amount-off"):
            details[0]["det_item_fee_sumamt"] = float(Decimal(str(details[0]["det_item_fee_sumamt"])) + Decimal("0.50"))
        amount = total(rows) + (1.0 if self.bug("sumamt-off") else 0.0)
        info = {"psn_no": who.psn_no, "mdtrt_cert_type": who.mdtrt_cert_type, "mdtrt_cert_no": who.mdtrt_cert_no,
                "psn_cert_type": who.psn_cert_type, "certno": who.certno, "psn_type": who.psn_type,
                "psn_name": who.psn_name, "begntime": rows[0]["fee_ocur_time"], "medfee_sumamt": amount,
                "insutype": who.insutype, "acct_used_flag": "1", "med_type": "41"}  # fmt: skip
        return {"druginfo": info, "drugdetail": details}

    def case_pharmacy_settle(self, who: Any) -> None:
        self._person(who)
        purchase = self._purchase(who)
        if self.call("2101", purchase, who) is None:
            return
        answer = self.send(self.envelope("2102", purchase, who))
        if answer.get("infcode") == 0:
            settled = self._record(answer, str(answer["output"]["setlinfo"].get("mdtrt_id") or ""))
            if self.bug("settle-twice"):
                self.call("2102", purchase, who)
            self._last_purchase = settled

    def case_pharmacy_cancel(self, who: Any) -> None:
        self.case_pharmacy_settle(who)
        settled = getattr(self, "_last_purchase", None)
        if settled is None:
            return
        setl_id = "S000000000000000000001" if self.bug("unknown-setl-id") else settled.setl_id
        out = self.call("2103", reverse_input(who, settled.mdtrt_id, setl_id), who)
        if out is not None:
            self.ledger.append({k: (out.get("setlinfo") or {}).get(k, settled.info.get(k))
                                for k in ("insutype", "clr_type", "clr_optins", "medfee_sumamt", "fund_pay_sumamt",
                                          "acct_pay")})

    # --- inpatient --------------------------------------------------------------------------------

    def case_inpatient_settle(self, who: Any) -> None:
        self._person(who)
        ipt_no = f"ZY{self.his.msgid()[-12:]}"
        out = self.call("2401", admit_input(who, ipt_no, mdtrtarea_admvs=self.his.mdtrtarea_admvs), who)
        if out is None:
            return
        mdtrt_id = str(out["result"]["mdtrt_id"])
        rows = fee_lines(who, mdtrt_id, [(self.catalogue.item("bed"), 3), (self.catalogue.item("nursing"), 3)],
                         inpatient=True)
        if self.call("2301", {"feedetail": rows}, who) is None:
            return
        if not self.bug("no-discharge") and self.call("2402", discharge_input(who, mdtrt_id), who) is None:
            return
        data = inpatient_settle_input(who, mdtrt_id, total(rows), mdtrtarea_admvs=self.his.mdtrtarea_admvs)
        if self.call("2303", data, who) is None:
            return
        answer = self.send(self.envelope("2304", data, who))
        if answer.get("infcode") == 0:
            self._record(answer, mdtrt_id)
