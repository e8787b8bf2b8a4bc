"""The operator's checklist of a client plan: per case, which persona and card, what to do in the HIS, what
the HIS should show, and what the platform will do. Three forms: terminal text, a JSON document for an
automated HIS test driver, and a self-contained HTML page that prints on A4.
"""

from __future__ import annotations

import html
from typing import Any

from harness.judge import Case, Plan
from harness.personas import load_catalogue
from harness.reporting.console import text_width

__all__ = ["checklist_data", "checklist_html", "checklist_text"]

_CARD = {"01": ("e-voucher (医保电子凭证)", "医保电子凭证"), "02": ("ID card (居民身份证)", "居民身份证"),
         "03": ("social-security card (社会保障卡)", "社会保障卡")}
_BEHAVIOUR = {
    "normal": ("answers normally", "正常应答"),
    "refusal": ("refuses, as the persona's case demands", "按该参保人情形拒绝"),
    "drop-after-commit": ("commits {infno}, then drops the connection", "{infno} 提交成功后断开连接"),
    "delay": ("answers {infno} after {delay_s} s", "{infno} 延迟 {delay_s} 秒应答"),
    "http-5xx": ("answers {infno} with HTTP {status}", "{infno} 返回 HTTP {status}"),
}


def _persona(archetype: str | None) -> dict[str, Any] | None:
    if not archetype:
        return None
    p = load_catalogue().persona(archetype)
    card_en, card_zh = _CARD.get(p.mdtrt_cert_type, (p.mdtrt_cert_type, p.mdtrt_cert_type))
    return {"archetype": archetype, "psn_name": p.psn_name, "psn_no": p.psn_no, "certno": p.certno,
            "mdtrt_cert_type": p.mdtrt_cert_type, "mdtrt_cert_no": p.mdtrt_cert_no, "card": card_en,
            "card_zh": card_zh, "card_no": p.card_no, "card_sn": p.card_sn if p.mdtrt_cert_type == "03" else "",
            "insutype": p.insutype, "insuplc_admdvs": p.insuplc_admdvs}


def _behaviour(case: Case) -> tuple[str, str]:
    b = case.behaviour
    en, zh = _BEHAVIOUR.get(b.kind, (b.kind, b.kind))
    values = {"infno": b.infno, "delay_s": b.delay_ms // 1000, "status": b.status or 503}
    return en.format(**values), zh.format(**values)


def checklist_data(plan: Plan) -> dict[str, Any]:
    cases = []
    for number, case in enumerate(plan.cases, 1):
        en, zh = _behaviour(case)
        cases.append({
            "number": number, "id": case.id, "title": case.title, "title_zh": case.title_zh,
            "persona": _persona(case.persona), "flow": [s.label() for s in case.flow],
            "platform": {"kind": case.behaviour.kind, "infno": case.behaviour.infno, "text": en, "text_zh": zh},
            "do": case.operator.do, "do_zh": case.operator.do_zh,
            "expect": case.operator.expect, "expect_zh": case.operator.expect_zh, "rules": list(case.rules),
            "start": f"hsa-cert client case start {case.id} --port PORT",
            "end": f"hsa-cert client case end {case.id} --port PORT",
        })  # fmt: skip
    return {"plan": plan.name, "title": plan.title, "title_zh": plan.title_zh,
            "client_timeout_ms": plan.client_timeout_ms, "cases": cases}


def _who(persona: dict[str, Any] | None) -> list[str]:
    if persona is None:
        return ["persona: none (operator action only) · 无需参保人"]
    lines = [f"persona 参保人: {persona['psn_name']} ({persona['archetype']}), psn_no {persona['psn_no']}",
             f"card 凭证: {persona['card']} {persona['mdtrt_cert_no']}"
             + (f", card_sn {persona['card_sn']}" if persona["card_sn"] else ""),
             f"insured region 参保地 {persona['insuplc_admdvs']}, insutype 险种 {persona['insutype']}"]
    return lines


COLUMNS = 100  # the terminal form fits 100 columns (a Chinese character takes two)


def _columns_wrap(text: str, columns: int) -> list[str]:
    """`text` in lines of at most `columns` display columns: broken at spaces, and inside a run of Chinese
    characters (which has no spaces) wherever the line is full."""
    lines: list[str] = []
    line = ""
    for word in text.split():
        candidate = f"{line} {word}" if line else word
        if text_width(candidate) <= columns:
            line = candidate
            continue
        if line:
            lines.append(line)
        line = ""
        for char in word:  # a word wider than the line (Chinese text): break it by character
            if text_width(line + char) > columns:
                lines.append(line)
                line = ""
            line += char
    return [*lines, line] if line or not lines else lines


def _wrap(label: str, text: str, columns: int = COLUMNS) -> list[str]:
    """`label` then `text` wrapped so that no line is wider than `columns` display columns."""
    pad = " " * text_width(label)
    lines = _columns_wrap(text, columns - text_width(label)) or [""]
    return [f"{label if n == 0 else pad}{line}" for n, line in enumerate(lines)]


def checklist_text(plan: Plan) -> str:
    data = checklist_data(plan)
    out = [*_wrap("", f"{plan.title_zh} · {plan.title}"),
           *_wrap("", f"plan {plan.name}: {len(plan.cases)} cases 个用例 · HIS timeout below "
                      f"{plan.client_timeout_ms // 1000} s (HIS超时应小于 {plan.client_timeout_ms // 1000} 秒)"), ""]
    for c in data["cases"]:
        out += _wrap("[ ] ", f"{c['number']}. {c['title_zh']}  ({c['id']})")
        out += _wrap("      ", c["title"])
        out += [line for who in _who(c["persona"]) for line in _wrap("      ", who)]
        out += _wrap("      flow 流程: ", " → ".join(c["flow"]))
        out += _wrap("      platform 平台: ", f"{c['platform']['text']} · {c['platform']['text_zh']}")
        out += _wrap("      do 操作:     ", c["do_zh"])
        out += _wrap("                   ", c["do"])
        out += _wrap("      expect 应显示: ", c["expect_zh"])
        out += _wrap("                     ", c["expect"])
        out.append(f"      start 开始: {c['start']}")
        out.append(f"      end   结束: {c['end']}")
        out.append("")
    return "\n".join(out).rstrip() + "\n"


_CSS = """
@page { size: A4; margin: 12mm 12mm; }
body { font-family: "Noto Sans CJK SC", "Microsoft YaHei", "PingFang SC", sans-serif; font-size: 9.5pt;
       line-height: 1.3; color: #111; max-width: 186mm; margin: 0 auto; }
h1 { font-size: 14pt; margin: 0 0 1mm; } .sub { color: #444; margin-bottom: 3mm; }
.case { border: 0.3mm solid #888; border-radius: 1.5mm; padding: 1.8mm 3mm; margin-bottom: 2.5mm;
        break-inside: avoid; page-break-inside: avoid; }
.case h2 { font-size: 10.5pt; margin: 0 0 1mm; } .box { display: inline-block; width: 3.6mm; height: 3.6mm;
        border: 0.3mm solid #111; margin-right: 2mm; vertical-align: -0.5mm; }
table { border-collapse: collapse; width: 100%; } td { vertical-align: top; padding: 0.2mm 1mm; }
td.k { width: 24mm; color: #333; white-space: nowrap; } .en { color: #555; font-size: 8.5pt; }
code { font-size: 8pt; } .sign { margin-top: 1mm; color: #333; }
@media screen { body { margin: 8mm auto; } }
"""


def checklist_html(plan: Plan) -> str:
    data = checklist_data(plan)
    e = html.escape
    parts = [f"<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'><title>{e(plan.title_zh)} · "
             f"{e(plan.title)}</title><style>{_CSS}</style></head><body>",
             f"<h1>{e(plan.title_zh)}</h1><div class='sub'>{e(plan.title)} · plan <code>{e(plan.name)}</code> · "
             f"{len(plan.cases)} cases · HIS timeout &lt; {plan.client_timeout_ms // 1000} s</div>"]
    for c in data["cases"]:
        who = _who(c["persona"])  # printed: the card and the insured region on one line
        rows = [("参保人 persona", "<br>".join([e(who[0]), *([e(" · ".join(who[1:]))] if who[1:] else [])])),
                ("流程 flow", e(" → ".join(c["flow"]))),
                ("平台 platform",
                 f"{e(c['platform']['text_zh'])} · <span class='en'>{e(c['platform']['text'])}</span>"),
                ("操作 do", f"{e(c['do_zh'])}<br><span class='en'>{e(c['do'])}</span>"),
                ("应显示 expect", f"{e(c['expect_zh'])}<br><span class='en'>{e(c['expect'])}</span>"),
                ("标记 mark", f"<code>{e(c['start'].replace(' start ', ' start|end '))}</code>")]
        table = "".join(f"<tr><td class='k'>{k}</td><td>{v}</td></tr>" for k, v in rows)
        parts.append(f"<div class='case'><h2><span class='box'></span>{c['number']}. {e(c['title_zh'])} · "
                     f"<span class='en'>{e(c['title'])}</span></h2><table>{table}</table>"
                     "<div class='sign'>结果 result: ______ 签名 signed: ______</div></div>")
    parts.append("</body></html>")
    return "".join(parts)
