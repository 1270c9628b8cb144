"""Fees (phí, lệ phí) as rules: what a dossier costs on its channel, computed the same way everywhere.

A catalog entry's `fee` keeps `amount_vnd` and `note` (every entry has them, docs/server/data/README.md) and may add
`rules`: per channel, a fixed amount or an amount per page or per copy, with a rate from a page on and a cap per copy
(docs/catalog.md "Fees"). `exemptions` are text only: the officer decides who is exempt. With no rule for the
channel, the importer's per-channel fees (`channels[].fees`) and then `online_amount_vnd` / `amount_vnd` are used.
pwa/static/js/fees.js is the same function for the app (offline); tests/data/fee_cases.json holds the cases both run.
"""

from __future__ import annotations

from typing import Any

KINDS = ("fixed", "per_page", "per_copy")
CHANNELS = ("direct", "online", "postal")
VND = ("VND", "Việt Nam Đồng", "đ", "đồng", "")


def _count(source: object, data: dict[str, Any], pages: dict[str, int]) -> int | None:
    """The number a rule counts: a form field's value, or the pages attached to one document (all when unnamed)."""
    if isinstance(source, dict) and isinstance(source.get("field"), str):
        value = data.get(source["field"])
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            return None
        return int(value)
    if isinstance(source, dict) and isinstance(source.get("document"), str):
        return pages.get(source["document"], 0)
    return sum(pages.values())


def _rule_for(fee: dict[str, Any], channel: str) -> dict[str, Any] | None:
    for rule in fee.get("rules") or []:
        if isinstance(rule, dict) and (not rule.get("channels") or channel in rule["channels"]):
            return rule
    return None


def _apply(rule: dict[str, Any], data: dict[str, Any], pages: dict[str, int]) -> int | None:
    amount = int(rule.get("amount_vnd") or 0)
    kind = rule.get("kind", "fixed")
    if kind == "fixed":
        return amount
    copies = _count(rule.get("copies"), data, pages) if "copies" in rule else 1
    if copies is None:
        return None
    if kind == "per_copy":
        return amount * copies
    count = _count(rule.get("pages"), data, pages)
    if not count:
        return None  # not known yet: no page counted
    first = count
    rest = 0
    if rule.get("from_page") is not None and rule.get("then_vnd") is not None:
        first = min(count, int(rule["from_page"]) - 1)
        rest = count - first
    per_copy = amount * first + int(rule.get("then_vnd") or 0) * rest
    if rule.get("cap_vnd") is not None:
        per_copy = min(per_copy, int(rule["cap_vnd"]))
    return per_copy * copies


def _from_channels(entry: dict[str, Any], channel: str) -> dict[str, Any] | None:
    """A rule read from the importer's per-channel fees: fixed amounts, or one amount "/trang" or "/bản"; anything
    else (another currency, conditions in the text) is not computed."""
    methods = [m for m in entry.get("channels") or [] if isinstance(m, dict) and m.get("channel") == channel]
    if not methods:
        return None
    fees = [f for f in methods[0].get("fees") or [] if isinstance(f, dict)]
    if not fees or any(f.get("amount") is None or (f.get("currency") or "") not in VND for f in fees):
        return {"unknown": True}
    texts = [(f.get("text") or "").strip() for f in fees]
    if all(not text for text in texts):
        return {"kind": "fixed", "amount_vnd": sum(int(f["amount"]) for f in fees)}
    if len(fees) == 1 and texts[0] in ("/trang", "đồng/trang"):
        return {"kind": "per_page", "amount_vnd": int(fees[0]["amount"])}
    if len(fees) == 1 and texts[0] in ("/bản", "đồng/bản"):
        return {"kind": "per_copy", "amount_vnd": int(fees[0]["amount"])}
    return {"unknown": True}


def fee_for(entry: dict[str, Any], channel: str, data: dict[str, Any] | None = None,
            pages: dict[str, int] | None = None) -> dict[str, Any]:
    """The fee of a dossier: {"amount_vnd": int or None (not computable: see the note), "note", "exemptions"}.

    `channel` as the dossier's (`field` intake counts as `direct`); `data` its form; `pages` the pages attached per
    document (pending ones count: they are on their way)."""
    fee: dict[str, Any] = entry["fee"] if isinstance(entry.get("fee"), dict) else {}
    data = data or {}
    pages = pages or {}
    channel = "direct" if channel == "field" else channel
    rule: dict[str, Any] | None = _rule_for(fee, channel)
    if rule is None:
        rule = _from_channels(entry, channel)
    if rule is None and channel == "online" and fee.get("online_amount_vnd") is not None:
        rule = {"kind": "fixed", "amount_vnd": fee["online_amount_vnd"]}
    if rule is None and fee.get("amount_vnd") is not None:
        rule = {"kind": "fixed", "amount_vnd": fee["amount_vnd"]}
    amount = None if rule is None or rule.get("unknown") else _apply(rule, data, pages)
    exemptions = [text for text in fee.get("exemptions") or [] if isinstance(text, str)]
    return {"amount_vnd": amount, "note": str(fee.get("note") or ""), "exemptions": exemptions}


def fee_text(quote: dict[str, Any]) -> str:
    """As printed: "6.000 đ", "Miễn phí" (free), or the published note when the amount cannot be computed."""
    amount = quote.get("amount_vnd")
    if amount is None:
        return quote.get("note") or "Theo quy định — hỏi bộ phận một cửa"
    text = "Không thu phí, lệ phí" if amount == 0 else f"{amount:,}".replace(",", ".") + " đ"
    if quote.get("exemptions"):
        text += " (miễn, giảm: " + "; ".join(quote["exemptions"]) + ")"
    return text


def rule_problems(fee: object) -> list[str]:
    """What is wrong with an entry's fee rules (the catalog check, server/catalog/procedures.py)."""
    if not isinstance(fee, dict):
        return ["fee must be an object"]
    problems = []
    rules = fee.get("rules", [])
    if not isinstance(rules, list):
        return ["fee.rules must be a list"]
    for index, rule in enumerate(rules):
        at = f"fee.rules[{index}]"
        if not isinstance(rule, dict):
            problems.append(f"{at}: not an object")
            continue
        if rule.get("kind", "fixed") not in KINDS:
            problems.append(f"{at}.kind must be one of {', '.join(KINDS)}")
        if not all(channel in CHANNELS for channel in rule.get("channels") or []):
            problems.append(f"{at}.channels must be among {', '.join(CHANNELS)}")
        for key in ("amount_vnd", "from_page", "then_vnd", "cap_vnd"):
            value = rule.get(key, 0)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
                problems.append(f"{at}.{key} must be a whole number of đồng ≥ 0")
        for key in ("pages", "copies"):
            source = rule.get(key)
            if source is not None and not (isinstance(source, dict) and (
                    isinstance(source.get("field"), str) or isinstance(source.get("document"), str))):
                problems.append(f'{at}.{key} must be {{"field": name}} or {{"document": name}}')
    if not all(isinstance(text, str) for text in fee.get("exemptions", [])):
        problems.append("fee.exemptions must be a list of texts")
    return problems
