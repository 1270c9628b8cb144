"""Reconciliation (đối soát): a unit's bank statement matched to the dossiers awaiting payment (docs/payments.md).

Each credit line is matched by the dossier code in its note (or the note fixed in the dossier's VietQR text) (letters and digits compared, since banks drop or
change punctuation) among the dossiers of the unit with a fee fixed, then by the amount:

- `paid`: the dossier awaits payment (status 6, or a fee fixed at a field intake and not paid yet, in any open
  status) and the amount is the fixed fee → `payment_done` is applied through the one write path (server/workflow/changes.py) on behalf of the officer importing, with this line as evidence;
- `partial` / `overpaid`: less or more than the fee; `duplicate`: the dossier was already paid (or an earlier line
  of the same import paid it); `unmatched`: no dossier code of this unit in the note; `refused`: the step no
  longer applies (withdrawn, …). All of these are listed for an officer (GET /api/units/{code}/payments), never
  applied silently, until the officer resolves them (server/payments/resolve.py).

Every line is stored once per unit under its key (server/payments/statements.py `Line.key`): importing the same
statement again finds every key and changes nothing. The whole import is one transaction.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from tortoise.transactions import in_transaction

from server.accounts.access import unit_dossiers
from server.models import AdministrativeUnit, Dossier, StatementLine, User
from server.payments.statements import Line
from server.payments.vietqr import note_of
from server.workflow import changes

OUTCOMES = ("paid", "partial", "overpaid", "duplicate", "unmatched", "refused")


def squeeze(text: str) -> str:
    """Letters and digits only, upper case: how a code is compared inside a transfer note."""
    return re.sub(r"[^0-9A-Z]", "", text.upper())


@dataclass
class ImportReport:
    lines: int = 0
    already_imported: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)

    def as_json(self) -> dict[str, Any]:
        return {"lines": self.lines, "already_imported": self.already_imported,
                "outcomes": {name: self.outcomes.get(name, 0) for name in OUTCOMES}}


async def _candidates(unit: AdministrativeUnit) -> dict[str, Dossier]:
    """The unit's dossiers with a fee fixed, by squeezed code and by the squeezed note fixed in their VietQR text
    (which differs from the code when a field device showed a provisional TAM-… code: the server replaced it, the
    citizen's transfer still carries it). The longest first, so that a code that is the start of another is not
    matched inside it."""
    rows = await Dossier.filter(unit_dossiers(unit.id), fee_fixed_at__isnull=False, code__isnull=False)
    keys: list[tuple[str, Dossier]] = []
    for row in rows:
        keys.append((squeeze(row.code or ""), row))
        note = note_of(row.payment_qr) if row.payment_qr else None
        if note and squeeze(note) != squeeze(row.code or ""):
            keys.append((squeeze(note), row))
    return {key: row for key, row in sorted(keys, key=lambda pair: -len(pair[0])) if key}


def _dossier_in(note: str, candidates: dict[str, Dossier]) -> Dossier | None:
    squeezed = squeeze(note)
    found = [code for code in candidates if code and code in squeezed]
    return candidates[max(found, key=len)] if found else None


async def import_lines(unit: AdministrativeUnit, user: User, lines: list[Line]) -> ImportReport:
    report = ImportReport(lines=len(lines))
    seen: Counter[tuple[Any, ...]] = Counter()
    keyed = []
    for line in lines:
        identity = (line.booked_on, line.amount_vnd, line.note, line.reference)
        keyed.append((line, line.key(seen[identity])))
        seen[identity] += 1
    async with in_transaction():
        known: set[str] = {str(key) for key in await StatementLine.filter(
            unit_id=unit.id, key__in=[key for _, key in keyed]).values_list("key", flat=True)}
        candidates = await _candidates(unit)
        paid_now: set[str] = set()
        for line, key in keyed:
            if key in known:
                report.already_imported += 1
                continue
            known.add(key)
            dossier = _dossier_in(line.note, candidates)
            outcome = _outcome(line, dossier, paid_now)
            row = await StatementLine.create(unit_id=unit.id, key=key, booked_on=line.booked_on,
                                             amount_vnd=line.amount_vnd, note=line.note, reference=line.reference,
                                             dossier_id=dossier.id if dossier else None, outcome=outcome,
                                             imported_by_id=user.id)
            if outcome == "paid" and dossier is not None:
                mutation = changes.command(dossier.id, "payment_done",
                                           {"channel": "transfer", "statement_line": row.id})
                try:
                    await changes.apply(user, [mutation], commune_codes=set())  # payment_done reads no form
                    paid_now.add(dossier.id)
                except changes.Refused:
                    row.outcome = "refused"
                    await row.save(update_fields=["outcome"])
            report.outcomes[row.outcome] += 1
    return report


def _outcome(line: Line, dossier: Dossier | None, paid_now: set[str]) -> str:
    if dossier is None:
        return "unmatched"
    if dossier.paid_at is not None or dossier.id in paid_now:
        return "duplicate"
    fee = dossier.fee_amount_vnd
    if fee is None or line.amount_vnd == fee:
        return "paid" if fee is not None else "refused"
    return "partial" if line.amount_vnd < fee else "overpaid"


async def waiting_lines(unit: AdministrativeUnit, *, resolved_too: bool = False) -> list[dict[str, Any]]:
    """The lines an officer has to look at (every outcome but paid, not yet resolved), newest first; with
    `resolved_too`, the resolved ones as well (server/payments/resolve.py)."""
    rows = StatementLine.filter(unit_id=unit.id).exclude(outcome="paid")
    if not resolved_too:
        rows = rows.filter(resolution="")
    return [_line(row) for row in await rows.order_by("-booked_on", "-id").prefetch_related("dossier", "resolved_by")]


def _line(row: StatementLine) -> dict[str, Any]:
    return {"id": row.id, "booked_on": row.booked_on.isoformat(), "amount_vnd": row.amount_vnd, "note": row.note,
            "reference": row.reference, "outcome": row.outcome,
            "dossier": {"id": row.dossier.id, "code": row.dossier.code, "fee_amount_vnd": row.dossier.fee_amount_vnd,
                        "status": row.dossier.status} if row.dossier else None,
            "resolution": {"action": row.resolution, "reason": row.resolution_reason or None,
                           "at": row.resolved_at.isoformat() if row.resolved_at else None,
                           "by": {"id": row.resolved_by.id, "name": row.resolved_by.full_name}
                           if row.resolved_by else None} if row.resolution else None}


async def line_json(row: StatementLine) -> dict[str, Any]:
    await row.fetch_related("dossier", "resolved_by")
    return _line(row)
