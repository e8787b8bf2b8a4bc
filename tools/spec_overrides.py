"""Hand-made facts that the markdown tables of the Hunan V1.1.27 spec do not carry, or carry wrongly.

Every entry names its source: "IF §x" = /work/shared/domain/interface-facts.md section x, "HN" = the
Hunan V1.1.27 text itself (notes or revision log), "real" = captured platform traffic quoted in IF.
Used only by tools/import_spec.py; never imported by harness/ code.
"""

from __future__ import annotations

from typing import Any

SPEC_VERSION = "v1.1.27"
ID_BASE = f"https://hsa-cert.dev/specs/{SPEC_VERSION}/"

# infno -> (English name, area, state-changing). Areas follow /tmp/hsa-contracts.md §A.
INTERFACES: dict[str, tuple[str, str, bool]] = {
    "9001": ("Sign in", "sign-in", True),
    "9002": ("Sign out", "sign-in", True),
    "1101": ("Person information", "person", False),
    "2001": ("Benefit entitlement check", "person", False),
    "2101": ("Pharmacy pre-settlement", "pharmacy", False),
    "2102": ("Pharmacy settlement", "pharmacy", True),
    "2103": ("Pharmacy settlement reversal", "pharmacy", True),
    "2201": ("Outpatient registration", "outpatient", True),
    "2202": ("Outpatient registration cancellation", "outpatient", True),
    "2203": ("Outpatient visit upload", "outpatient", True),
    "2204": ("Outpatient fee detail upload", "outpatient", True),
    "2205": ("Outpatient fee detail cancellation", "outpatient", True),
    "2206": ("Outpatient pre-settlement", "outpatient", False),
    "2207": ("Outpatient settlement", "outpatient", True),
    "2208": ("Outpatient settlement reversal", "outpatient", True),
    # IF §3.2 [C]: the A versions of the outpatient visit and settlement (2203A: HN 【2203A】, adds
    # matn_type/geso_val; 2206A/2207A: no HN section, same tables as 2206/2207, see A_VARIANTS).
    "2203A": ("Outpatient visit upload, A version", "outpatient", True),
    "2206A": ("Outpatient pre-settlement, A version", "outpatient", False),
    "2207A": ("Outpatient settlement, A version", "outpatient", True),
    "2301": ("Inpatient fee detail upload", "inpatient", True),
    "2302": ("Inpatient fee detail cancellation", "inpatient", True),
    "2303": ("Inpatient pre-settlement", "inpatient", False),
    "2304": ("Inpatient settlement", "inpatient", True),
    "2305": ("Inpatient settlement reversal", "inpatient", True),
    "2401": ("Admission", "inpatient", True),
    "2402": ("Discharge", "inpatient", True),
    "2403": ("Admission information change", "inpatient", True),
    "2404": ("Admission cancellation", "inpatient", True),
    "2405": ("Discharge cancellation", "inpatient", True),
    "2501": ("Referral filing", "filing", True),
    "2502": ("Referral filing cancellation", "filing", True),
    "2503": ("Chronic/special disease filing", "filing", True),
    "2504": ("Chronic/special disease filing cancellation", "filing", True),
    "2505": ("Designated institution filing", "filing", True),
    "2506": ("Designated institution filing cancellation", "filing", True),
    "2601": ("Transaction reversal (冲正)", "reversal", True),
    "3201": ("Settlement reconciliation, totals", "reconciliation", False),
    "3202": ("Settlement reconciliation, details", "reconciliation", False),
    "5201": ("Visit information query", "query", False),
    "5203": ("Settlement information query", "query", False),
    "5301": ("Chronic/special disease filing query", "query", False),
    "5302": ("Designated institution filing query", "query", False),
    "5304": ("Referral information query", "query", False),
    "9101": ("File upload", "file", True),
    "9102": ("File download", "file", False),
}

# Nodes the tables describe as 多行数据 (arrays). Everything else is an object.
# Sources: HN 重点说明 of each interface; IF §3/§4; 2302 data is an array in HN ("交易输入为多行数据") and S3.
ARRAY_NODES: dict[str, set[str]] = {
    "1101": {"out.insuinfo", "out.idetinfo"},
    "2001": {"out.trtinfo"},
    "2101": {"in.drugdetail", "out.setldetail", "out.detlcutinfo"},
    "2102": {"in.drugdetail", "out.setldetail", "out.detlcutinfo"},
    "2103": {"out.setldetail"},
    "2203": {"in.diseinfo"},
    "2203A": {"in.diseinfo"},
    "2204": {"in.feedetail", "out.result"},
    "2206": {"out.setldetail"},
    "2207": {"out.setldetail"},
    "2206A": {"out.setldetail"},
    "2207A": {"out.setldetail"},
    "2208": {"out.setldetail"},
    "2301": {"in.feedetail", "out.result"},
    "2302": {"in.data"},
    "2303": {"out.setldetail"},
    "2304": {"out.setldetail"},
    "2305": {"out.setldetail"},
    "2401": {"in.diseinfo"},
    "2402": {"in.diseinfo"},
    "2403": {"in.diseinfo"},
    "5201": {"out.mdtrtinfo"},
    "5203": {"out.setldetail"},
    "5301": {"out.feedetail"},
    "5302": {"out.psnfixmedin"},
    "5304": {"out.refmedin"},
}

# A versions the HN text does not print (IF §3.2 lists 2206A/2207A as [C] names of 门诊预结算/门诊结算,
# field tables unknown): built from the base interface's tables, plus the A-only fields of A_EXTRA_FIELDS.
A_VARIANTS: dict[str, str] = {"2206A": "2206", "2207A": "2207"}

# Output nodes that real platforms may omit (IF §4.1: idetinfo often empty/absent).
OPTIONAL_OUTPUT_NODES: dict[str, set[str]] = {
    "1101": {"idetinfo"},
    "2101": {"detlcutinfo"},
    "2102": {"detlcutinfo"},
}

# Node renames where real traffic contradicts the table (infno, direction, table node) -> node.
# 9002: HN prints 节点标识 "sign_time"; real responses carry {"signoutoutb": {"sign_time": …}}.
NODE_RENAMES: dict[tuple[str, str, str], str] = {
    ("9002", "out", "sign_time"): "signoutoutb",
}

# Name of the pseudo-node for fields that sit directly in `output` (HN 9101: 节点标识 无节点).
ROOT_NODE = "output"

# Field name -> dictionary name where they differ (HN 4906 chapter names).
CODE_ALIASES: dict[str, str] = {
    "agnter_cert_type": "psn_cert_type",
    "psn_type_lv": "disa_lv",
    "caty": "dept",
    "adm_dept_codg": "dept",
    "insu_type": "insutype",
    "cert_type": "psn_cert_type",
    "oinsutype": "insutype",
}

# [V] "codes" that real traffic fills with local values: plain strings ≤6, never enums (IF §5 psn_type).
FREE_FORM_CODES: set[str] = {"psn_type"}

# Fields that carry a dictionary although the HN table leaves 代码标识 blank (IF §4 marks them D).
FORCE_CODED: set[str] = {"refd_setl_flag", "opter_type", "psn_cert_type", "stmt_rslt", "cert_type", "biz_appy_type"}

# Fields the [V] cross-region rule concerns (IF §3.6 item 3): optional in the baseline schema,
# required through profile `cross_region_required`. Lengths widened to what real traffic needs
# (psn_type values like 116032 are 6 long; names and foreign certificate numbers exceed 20).
CROSS_REGION_FIELDS: dict[str, tuple[str, str | None, int]] = {
    # name: (title, code, maxLength)
    "psn_cert_type": ("人员证件类型", "psn_cert_type", 6),
    "certno": ("证件号码", None, 50),
    "psn_type": ("人员类别", None, 6),
    "psn_name": ("人员姓名", None, 50),
}
CROSS_REGION_NODES: dict[str, str] = {
    "1101": "data", "2201": "data", "2206": "data", "2207": "data",
    "2303": "data", "2304": "data", "2401": "mdtrtinfo",
    # HN makes the four fields 必填 in pharmacy settlement too; same [V] treatment.
    "2101": "druginfo", "2102": "druginfo",
    "2206A": "data", "2207A": "data",
}
CROSS_REGION_BY_INFNO: dict[str, list[str]] = {
    "1101": ["psn_cert_type", "certno", "psn_name"],
    **{k: ["psn_cert_type", "certno", "psn_type", "psn_name"]
       for k in ("2201", "2206", "2207", "2206A", "2207A", "2303", "2304", "2401")},
}

# sign_no: HN 表2 and IF §1.1 #17 give 30 characters, but HN's own sample request (附录 B.1 报文输入示例-人员信息获取)
# carries sign_no "79faf82271944fe38c4f1d99be71bc9c", 32 characters; real traffic wins. The same value
# comes out of 9001 and goes back into 9002 and every envelope, so all three places take this maximum.
SIGN_NO_MAX_LENGTH = 64
SIGN_NO_NOTE = "HN 附录 B.1 sample sign_no is 32 characters, over the table's 30 (IF §1.1 #17); ≤64"

# Per-field patches: (infno, direction, node, field) -> keys.
#   required: bool        override 是否必填/是否非空
#   kind: str             override the type (string|money|date|datetime|…)
#   max_length: int       override 参数长度
#   note: str             appended to description (why the override)
FIELD_PATCHES: dict[tuple[str, str, str, str], dict[str, Any]] = {
    # IF §4.7: 2206/2303 output has no setl_id; real 2206 responses carry setl_time, clr_way, clr_optins as null.
    **{(i, "out", "setlinfo", f): {"required": False, "note": "IF §4.7: null in real pre-settlement responses"}
       for i in ("2206", "2303") for f in ("setl_time", "clr_way", "clr_optins", "setl_id")},
    # IF §4.7: crt_payb_lmt_amt is often null in practice.
    **{(i, "out", "setldetail", "crt_payb_lmt_amt"): {"required": False, "note": "IF §4.7: often null in real traffic"}
       for i in ("2101", "2102", "2103", "2206", "2207", "2206A", "2207A", "2208", "2303", "2304", "2305", "5203")},
    # IF §4.7 lists the [C] settlement output without hifdm_pay; HN adds it as 非空. Real Hebei traffic lacks it.
    **{(i, "out", "setlinfo", "hifdm_pay"): {"required": False, "note": "HN-only 非空; absent from IF §4.7 [C] set"}
       for i in ("2101", "2102", "2103", "2206", "2207", "2206A", "2207A", "2208", "2303", "2304", "2305", "5203")},
    **{("2206A", "out", "setlinfo", f): {"required": False, "note": "IF §4.7: null in real pre-settlement responses"}
       for f in ("setl_time", "clr_way", "clr_optins", "setl_id")},
    # IF §4.8: pdn_cash_pay (sic) and psn_cash_pay both accepted in 2208 output; one of them must be present.
    ("2208", "out", "setlinfo", "pdn_cash_pay"): {"required": False,
                                                  "note": "IF §4.8: spec typo, accepted with psn_cash_pay"},
    # HN 修订记录 item 16 added the envelope regions to these inputs (必填); not in the IF §4.11/§4.13 [C] sets.
    **{(i, "in", n, f): {"required": False, "note": "HN-only addition (修订记录 16); the envelope carries it"}
       for (i, n) in (("2303", "data"), ("2304", "data"), ("2401", "mdtrtinfo"))
       for f in ("insuplc_admdvs", "mdtrtarea_admvs")},
    # IF §4.4: the national 2203 table leaves dise_codg/dise_name optional; Hunan V1.2 made dise_codg required
    # ([V]: a profile setting, see hunan.json schema_overrides).
    **{(i, "in", "mdtrtinfo", f): {"required": False, "note": "IF §4.4: optional nationally; Hunan V1.2 requires it"}
       for i in ("2203", "2203A") for f in ("dise_codg", "dise_name")},
    # HN 2401 spells psn_cert_type as cert_type (表103 #9).
    ("2401", "in", "mdtrtinfo", "cert_type"): {"required": False,
                                               "note": "HN spelling of psn_cert_type; required by the hunan profile"},
    # IF §4.21: fixmedins_refd_setl_flag is a Hunan addition, not in the [C] field set.
    ("3201", "in", "data", "fixmedins_refd_setl_flag"): {"required": False, "note": "HN-only 必填"},
    ("3202", "in", "data", "fixmedins_refd_setl_flag"): {"required": False, "note": "HN-only 必填"},
    # HN 9001 types sign_time as 日期型 but its note and real traffic give yyyy-MM-dd HH:mm:ss.
    ("9001", "out", "signinoutb", "sign_time"): {"kind": "datetime"},
    ("9002", "out", "signoutoutb", "sign_time"): {"kind": "datetime"},
    # The sign-in serial number, wherever it appears (see SIGN_NO_MAX_LENGTH).
    ("9001", "out", "signinoutb", "sign_no"): {"max_length": SIGN_NO_MAX_LENGTH, "note": SIGN_NO_NOTE},
    ("9002", "in", "signOut", "sign_no"): {"max_length": SIGN_NO_MAX_LENGTH, "note": SIGN_NO_NOTE},
    # IF §4.5: feedetl_sn is str30 [C]; HN V1.2 makes it digits only (a profile pattern, see hunan.json).
    **{(i, "in", n, "feedetl_sn"): {"kind": "string", "max_length": 30, "note": "IF §4.5: str30 [C]; HN digits-only"}
       for (i, n) in (("2101", "drugdetail"), ("2102", "drugdetail"), ("2204", "feedetail"), ("2301", "feedetail"))},
    # IF §1.1 #16 / §7.8: fixmedins_name ≤200 in reality.
    **{(i, d, n, "fixmedins_name"): {"max_length": 200}
       for (i, d, n) in (("2505", "in", "data"), ("5302", "out", "psnfixmedin"))},
    # IF §4.20: oinfno carries the original infno; admit the letter-suffixed variants (2207A).
    ("2601", "in", "data", "oinfno"): {"max_length": 5, "pattern": r"^[0-9]{4}[A-Z]?$"},
}

# Fields to add where a table lacks them:
#   (infno, direction, node) -> [(field, title, kind, maxLength, code, required, note)].
EXTRA_FIELDS: dict[tuple[str, str, str], list[tuple[str, str, str, int | None, str | None, bool, str]]] = {
    # IF §4.7: 2206/2303 may echo setl_id as null.
    ("2206", "out", "setlinfo"): [("setl_id", "结算ID", "string", 30, None, False, "IF §4.7: null in 2206")],
    ("2206A", "out", "setlinfo"): [("setl_id", "结算ID", "string", 30, None, False, "IF §4.7: null in 2206")],
    # IF §4.4 [C]: 2203A adds matn_type and geso_val to mdtrtinfo (HN 【2203A】 prints them too). The A
    # settlements carry the 2203A maternity facts on (IF §3.2 names only; [U] which fields the A tables add,
    # so they are optional and never fail a certificate on their own).
    **{(i, "in", "data"): [("matn_type", "生育类别", "string", 6, None, False, "[U] A version (IF §3.2)"),
                           ("geso_val", "孕周数", "number", None, None, False, "[U] A version (IF §3.2)")]
       for i in ("2206A", "2207A")},
    ("2303", "out", "setlinfo"): [("setl_id", "结算ID", "string", 30, None, False, "IF §4.7: null in 2303")],
    # IF §4.8: the correct spelling next to the typo.
    ("2208", "out", "setlinfo"): [("psn_cash_pay", "个人现金支出", "money", None, None, False,
                                   "IF §4.8: correct spelling of pdn_cash_pay")],
    # IF §4.1: spec appendix and some responses add insu_admdvs / psn_insu_rlts_id.
    ("1101", "out", "insuinfo"): [
        ("insu_admdvs", "参保所属医保区划", "string", 6, None, False, "IF §4.1: seen in real responses"),
        ("psn_insu_rlts_id", "人员参保关系ID", "string", 30, None, False, "IF §4.1: seen in real responses"),
    ],
}

# Nodes that must have at least one of the listed fields (both optional individually).
ONE_OF_REQUIRED: dict[tuple[str, str, str], list[list[str]]] = {
    ("2208", "out", "setlinfo"): [["pdn_cash_pay", "psn_cash_pay"]],
}

# Code lists: dictionary name -> patch. "enum" replaces the table's codes; "variants" adds x-variants;
# "labels" adds/overrides labels; "title" sets the 中文 title when the dictionary is not in HN.
_FLAG01 = {"0": "否", "1": "是"}
CODE_PATCHES: dict[str, dict[str, Any]] = {
    # IF §5 [C] 1/2/3; HN prints only "1 经办机构用户".
    "opter_type": {"enum": ["1", "2", "3"], "labels": {"1": "经办人", "2": "自助终端", "3": "移动终端"},
                   "variants": {"hunan": ["1"]}},
    # IF §5: padded 2-digit is [C]; S1 printed them unpadded.
    "psn_cert_type": {"enum": ["01", "02", "03", "04", "05", "06", "07", "08", "09", "10", "11", "12", "13", "14", "15",
                               "16", "17", "90", "99"],
                      "variants": {"hunan": "table",
                                   "unpadded": ["1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13",
                                                "14", "15", "16", "17", "90", "99"]}},
    # IF §5 [V]: real values are unpadded ("1", "3") as in HN; S1 (Jiangxi) prints 01…05, 99.
    "clr_way": {"variants": {"unpadded": None, "padded": ["01", "02", "03", "04", "05", "99"]},
                "variant_labels": {"padded": {"01": "按项目", "02": "单病种", "03": "按床日", "04": "按人头",
                                              "05": "DRGs点数法", "99": "其他"}}},
    # IF §5 [C] 01/02/03; S1 printed 1/2/3.
    "chrgitm_lv": {"variants": {"unpadded": ["1", "2", "3"]}},
    # IF §5 [V]: real values zero-padded ("01", "11", "99"); HN prints 1…56.
    "naty": {"padded": 2, "extra": {"99": "其他"}, "variants": {"unpadded": "unpadded"}},
    # IF §5 [V]: S1 1 是 / 2 否; HN and real traffic 1 是 / 0 否.
    "bas_medn_flag": {"variants": {"one-two": ["1", "2"]}, "variant_labels": {"one-two": {"1": "是", "2": "否"}}},
    "hi_nego_drug_flag": {"variants": {"one-two": ["1", "2"]}, "variant_labels": {"one-two": {"1": "是", "2": "否"}}},
    # IF §5 [L]: 0/1; HN adds 2 (使用共济人个账).
    "acct_used_flag": {"enum": ["0", "1"], "labels": {"0": "否", "1": "是"}, "variants": {"hunan": ["0", "1", "2"]}},
    # IF §5: [C] core; HN list and local extensions are variants.
    "insutype": {"enum": ["310", "320", "330", "340", "350", "360", "370", "380", "390", "391", "392", "399", "410",
                          "510"],
                 "variants": {"hunan": "table", "extended": ["310", "320", "330", "340", "350", "360", "370", "380",
                                                             "390", "391", "392", "399", "410", "510", "39901",
                                                             "39903", "39904", "39905", "39999"]}},
    # IF §5: S1 national list (incl. [C] 11/12/13/14/21/41/51/52); HN list (+ [C] core) as a variant.
    "med_type": {"enum": ["11", "12", "13", "14", "21", "22", "23", "24", "26", "28", "41", "51", "52", "9901"],
                 "labels": {"12": "门诊挂号", "21": "普通住院", "23": "转外诊治住院", "24": "急诊转住院",
                            "26": "单病种住院", "28": "日间手术"},
                 "variants": {"hunan": "table+core"}, "core": ["11", "12", "13", "14", "21", "41", "51", "52"]},
    # IF §5 [V] conflict on 102–105: HN (S2) list is the enum (also real HN); S1 meanings in labels of a variant.
    "list_type": {"variants": {"s1": ["101", "102", "103", "104", "105", "201", "301"]}},
    # IF §5: 0 balanced [C]; S1 0/1/2/3, HN 0/1.
    "stmt_rslt": {"enum": ["0", "1", "2", "3"], "labels": {"0": "平", "1": "不平/中心多", "2": "医药机构多",
                                                           "3": "数据不一致"},
                  "variants": {"hunan": ["0", "1"]}},
    # IF §5 [L] S1: 1 西医主要诊断 … 4 中医主证诊断; HN 1/2/3 with other meanings.
    "diag_type": {"enum": ["1", "2", "3", "4"],
                  "labels": {"1": "西医主要诊断", "2": "西医其他诊断", "3": "中医主病诊断", "4": "中医主证诊断"},
                  "variants": {"hunan": ["1", "2", "3"]}},
    # IF §5 [U]: not in S1/S2; HN V1.1.27 has 0–4 (3 无效参保); real "1", "4".
    "psn_insu_stas": {},
    # IF §5: [C]/[L] fund_pay_type base codes; HN sub-codes and real 310201/330101/999996 as variant.
    "fund_pay_type": {"enum": ["310100", "310200", "320100", "330100", "340100", "350100", "370100", "390100", "390200",
                               "510100", "610100", "999996", "999997"],
                      "extra": {"310201": "职工个人账户（子项）", "330101": "大额医疗费用补助（子项）"},
                      "variants": {"hunan": "table", "extended": "table+extra"}},
    # IF §5: flag dictionaries missing from HN.
    "rx_circ_flag": {"title": "外购处方标志", "enum": ["0", "1"], "labels": _FLAG01},
    "trt_enjymnt_flag": {},
    "dcla_souc": {"labels": {"03": "网上经办系统"}, "fix_blank": {"网上经办系统": "03"},
                  "variants": {"s1": ["1", "2"]}, "variant_labels": {"s1": {"1": "医院", "2": "中心"}}},
    "biz_appy_type": {},
    "psn_idet_type": {"variants": {"s1": ["01", "02", "03", "04", "06", "07", "99"]}},
    "agnter_rlts": {},
    "hi_feesetl_type": {},
    "mdtrt_cert_type": {},
    "psn_setlway": {},
    "clr_type": {"enum": ["11", "21", "41", "99"], "labels": {"99": "其他"},
                 "variants": {"hunan": "table+core"}, "core": ["11", "21", "41", "99"]},
    "gend": {},
    "mid_setl_flag": {},
    "refl_type": {},
    "dscg_way": {},
    "hosp_appr_flag": {},
    "pay_loc": {},
    "trt_chk_type": {},
    "refd_setl_flag": {},
    "psn_type": {"open": True},
}

# The 0/1 flag dictionaries of IF §5 (each gets its own file; flag01.json is the reusable one).
FLAG01_NAMES: list[str] = [
    "cvlserv_flag", "vali_flag", "maindiag_flag", "mid_setl_flag", "lmt_used_flag", "etip_flag",
    "dscg_tkdrug_flag", "matn_fee_flag", "drt_reim_flag", "chld_medc_flag", "cop_flag", "pret_flag",
    "latechb_flag", "hosp_agre_refl_flag", "out_flag", "refd_setl_flag", "trt_enjymnt_flag", "rx_circ_flag",
]

# Code lists written even if no covered field references them (IF §5 list).
ALWAYS_CODES: list[str] = [
    "mdtrt_cert_type", "insutype", "med_type", "psn_cert_type", "psn_setlway", "acct_used_flag", "clr_type",
    "clr_way", "opter_type", "chrgitm_lv", "med_chrgitm_type", "list_type", "fund_pay_type", "stmt_rslt",
    "refd_setl_flag", "gend", "naty", "bas_medn_flag", "hi_nego_drug_flag", "hosp_appr_flag", "diag_type",
    "dscg_way", "refl_type", "biz_appy_type", "dcla_souc", "pay_loc", "hi_feesetl_type", "psn_idet_type",
    "trt_chk_type", "agnter_rlts", "psn_insu_stas", "rx_circ_flag", "mid_setl_flag", "trt_enjymnt_flag",
    "psn_type", "dept", "list_sp_item_flag", *FLAG01_NAMES,
]
