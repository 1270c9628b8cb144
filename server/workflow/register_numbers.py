"""Register numbers (số thứ tự in the dossier register, sổ theo dõi hồ sơ: form 07 of Circular 03/2025/TT-VPCP;
docs/domain.md "Corrections and additions", docs/workflow.md "Register numbers").

Each receiving unit keeps one register book per year. A dossier gets the next number of its book when its
reception is written on the server, in the same transaction: the desk `receive`, or a field intake's create when it
syncs (a receipt issued offline gets its number then, not on the device). The counter of a book is one row of
`register_counters`, advanced by one `INSERT … ON CONFLICT DO UPDATE … RETURNING`: the row stays locked until the
reception commits, so two instances receiving at once wait for each other (no number twice), and a reception that
rolls back gives its number back (no gaps). Dossier codes keep their own daily sequence and the field devices'
blocks (server/workflow/dossier_codes.py); unused numbers of a block never reach the register.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tortoise.connection import get_connection

from server.db.sql import placeholders
from server.workflow.working_time import vietnam_date


def book_key(unit_id: int, year: int) -> str:
    return f"{unit_id}-{year}"


async def take_register_number(unit_id: int, received_at: datetime) -> dict[str, Any]:
    """The next line of the unit's register for the year of reception (Vietnam time), as the dossier's changes.

    Call it last, once nothing can refuse the reception any more, inside the transaction that writes it."""
    year = vietnam_date(received_at).year
    connection = get_connection("default")
    sql = (f'INSERT INTO register_counters ("key", last_number) VALUES ({placeholders(2, conn=connection)}) '
           'ON CONFLICT ("key") DO UPDATE SET last_number = register_counters.last_number + 1 '
           "RETURNING last_number")
    rows = await connection.execute_query_dict(sql, [book_key(unit_id, year), 1])
    return {"register_year": year, "register_number": int(rows[0]["last_number"])}
