"""Document numbers (số văn bản): each issued document has its own, distinct from the dossier code.

A sequence per issuing unit, document series and year (Decree 30/2020/NĐ-CP, Appendix I: numbers run from 01
January to 31 December), given the first time a document is issued (printed or downloaded) and stored, so every
later copy prints the same number and date.
"""

from __future__ import annotations

from datetime import datetime

from tortoise.exceptions import IntegrityError
from tortoise.functions import Max
from tortoise.transactions import in_transaction

from server.models import DocumentNumber

ATTEMPTS = 8  # two first prints at once: the loser of the unique index takes the next number


async def issue(*, unit_id: int, series: str, dossier_id: str, issued_at: datetime, year: int) -> DocumentNumber:
    """The document's number, given now if it has none yet; stable afterwards."""
    for _ in range(ATTEMPTS):
        existing = await DocumentNumber.get_or_none(dossier_id=dossier_id, series=series)
        if existing is not None:
            return existing
        try:
            async with in_transaction():
                rows = await (DocumentNumber.filter(unit_id=unit_id, series=series, year=year)
                              .annotate(last=Max("number")).values("last"))
                last = rows[0]["last"] if rows and rows[0]["last"] is not None else 0
                return await DocumentNumber.create(unit_id=unit_id, series=series, year=year, number=int(last) + 1,
                                                   dossier_id=dossier_id, issued_at=issued_at)
        except IntegrityError:
            continue
    raise RuntimeError("could not give the document a number")  # only under pathological contention
