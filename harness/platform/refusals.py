"""The platform's refusals: one exception type and the exact message of every failure cause.

A handler refuses by raising `Refusal(cause)`; the pipeline rolls the transaction back (a refusal
changes no state), and answers `infcode = -1`, `output = null` and the cause's `err_msg`. The
messages are fixed (section B of the contracts): the baseline profile's `err_msg_patterns` match
each one, so a harness can confirm the cause of a refusal from the text alone.
"""

from __future__ import annotations

__all__ = ["CAUSE_MESSAGES", "Refusal", "invalid_request"]

CAUSE_MESSAGES: dict[str, str] = {
    "not-filed": "参保人未办理异地就医备案，不能直接结算",
    "lapsed-contributions": "参保人中断缴费，不能享受异地就医直接结算",
    "benefits-suspended": "参保人待遇暂停享受",
    "inactive-card": "社会保障卡未激活或已挂失",
    "region-not-enabled": "参保地未开通跨省异地门诊直接结算",
    "institution-not-enabled": "定点医药机构未开通跨省异地直接结算",
    "filing-expired": "异地就医备案已超过有效期",
    "filed-elsewhere": "就医地与异地就医备案地不一致",
    "chronic-not-filed": "参保人未办理门诊慢特病备案",
    "duplicate-settlement": "该就诊已结算，不能重复结算",
    "reversal-unknown": "结算信息不存在",
    "reversal-repeated": "该结算已撤销，不能重复撤销",
    "sumamt-mismatch": "医疗费总额与上传费用明细总额不一致",
    "invalid-request": "入参校验失败：",
    "not-signed-in": "未签到或签到已失效",
    "msgid-conflict": "报文ID重复且报文内容不同",
    "not-found": "就诊信息不存在",
    "not-reversible": "该交易不允许冲正",
}

# Region not enabled, for inpatient care: the same cause, worded for the kind of care.
REGION_NOT_ENABLED_INPATIENT = "参保地未开通跨省异地住院直接结算"


class Refusal(Exception):
    """A business or protocol refusal. `cause` is a failure-cause id or "" for other refusals."""

    def __init__(self, cause: str, message: str | None = None) -> None:
        text = message if message is not None else CAUSE_MESSAGES[cause]
        super().__init__(text)
        self.cause = cause
        self.err_msg = text


def invalid_request(detail: str) -> Refusal:
    """`入参校验失败：<json path> <reason>`."""
    return Refusal("invalid-request", CAUSE_MESSAGES["invalid-request"] + detail)
