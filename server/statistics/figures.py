"""Statistics for leaders (thống kê): what a unit or the whole province received, resolved and left pending,
by channel, by month, per procedure, with the ratings and the parts of the Decision 766/QĐ-TTg index that the
data supports (docs/statistics.md says what each figure means).

Timeliness is decided by the date processing ended (`finished_at`, result ready), not by when the citizen
collected the result, against the original appointment (`original_due_at`, hạn gốc) when an apology extended it:
Decree 61/2018 and docs/domain.md "Timeliness". A dossier not finished is never counted as on time.

Everything is aggregated in the database (GROUP BY), three statements per dashboard, whatever the number of
dossiers. Times are stored in UTC; periods and the early / on time / late classification use the calendar in
Vietnam (UTC+7, no daylight saving), as server/workflow/working_time.py's `timeliness()` does for one dossier.
"""

from __future__ import annotations

import asyncio
from typing import Any, cast
from dataclasses import dataclass, field
from datetime import datetime, timezone

from tortoise.connection import get_connection

from server.dossiers.status import FINISHED  # refused, stopped, result ready, returned: no longer pending
from server.db.sql import is_postgres, param
from server.models import AdministrativeUnit, Procedure, ProcedureVersion, UnitSuccessor
from server.workflow.working_time import VIETNAM  # UTC+7, no daylight saving

CHANNELS = ("direct", "online", "postal", "field")  # trực tiếp, trực tuyến, bưu chính công ích, tiếp nhận tại chỗ
RATINGS = ("very_satisfied", "satisfied", "unsatisfied")
MIN_YEAR, MAX_YEAR = 2000, 2100


# -- what is asked ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Period:
    """A calendar year or one month of it, in Vietnam time; start and end are UTC instants, end excluded."""

    year: int
    month: int | None = None

    @property
    def start(self) -> datetime:
        return datetime(self.year, self.month or 1, 1, tzinfo=VIETNAM).astimezone(timezone.utc)

    @property
    def end(self) -> datetime:
        if self.month is None or self.month == 12:
            return datetime(self.year + 1, 1, 1, tzinfo=VIETNAM).astimezone(timezone.utc)
        return datetime(self.year, self.month + 1, 1, tzinfo=VIETNAM).astimezone(timezone.utc)

    @property
    def year_period(self) -> "Period":
        return Period(self.year)


@dataclass(frozen=True)
class Scope:
    """The unit the figures are for and the unit ids whose dossiers count (itself, what lies under it, and the
    older units merged into those, so dossiers received before a reorganisation keep counting)."""

    unit: AdministrativeUnit
    unit_ids: tuple[int, ...]


async def province_of(unit: AdministrativeUnit) -> AdministrativeUnit:
    """The province a unit lies in (itself for a province): its parent chain, at most three levels."""
    current = unit
    for _ in range(5):
        if current.level == "province" or current.parent_id is None:
            return current
        current = await AdministrativeUnit.get(id=current.parent_id)
    return current


async def scope_of(unit: AdministrativeUnit) -> Scope:
    rows = await AdministrativeUnit.all().values_list("id", "parent_id")
    children: dict[int, list[int]] = {}
    for unit_id, parent_id in rows:
        if parent_id is not None:
            children.setdefault(parent_id, []).append(unit_id)
    ids: set[int] = set()
    todo = [unit.id]
    while todo:
        current = todo.pop()
        if current not in ids:
            ids.add(current)
            todo.extend(children.get(current, ()))
    predecessors = await UnitSuccessor.filter(new_unit_id__in=list(ids)).values_list("old_unit_id", flat=True)
    ids.update(cast("list[int]", predecessors))  # flat=True: tortoise's stub still says tuples
    return Scope(unit, tuple(sorted(ids)))


async def units_in(province: AdministrativeUnit) -> list[AdministrativeUnit]:
    """The units in force under a province, for the unit picker: its own office first, then by name."""
    scope = await scope_of(province)
    units = await AdministrativeUnit.filter(id__in=list(scope.unit_ids), valid_to__isnull=True).order_by("name")
    return sorted(units, key=lambda unit: (unit.id != province.id, unit.name_folded))


# -- what is answered --------------------------------------------------------------------------------------
def share(part: int, whole: int) -> float | None:
    """A percentage with one decimal, or None when there is nothing to divide by."""
    return round(100.0 * part / whole, 1) if whole else None


@dataclass
class Month:
    month: int
    received: dict[str, int] = field(default_factory=lambda: {channel: 0 for channel in CHANNELS})
    early: int = 0
    on_time: int = 0
    late: int = 0
    without_due: int = 0
    extended: int = 0  # of the resolved, those whose appointment an apology extended (form 04)

    @property
    def total_received(self) -> int:
        return sum(self.received.values())

    @property
    def resolved(self) -> int:
        return self.early + self.on_time + self.late + self.without_due

    @property
    def online_share(self) -> float | None:
        return share(self.received["online"], self.total_received)


@dataclass
class ProcedureRow:
    code: str
    name: str
    online_level: str  # full | partial | none (Decree 42/2022)
    received: int
    online: int
    # Payments (docs/payments.md): dossiers asked for a fee (one fixed on them), and those paid online (a bank
    # transfer matched in a statement, or a gateway), for Decision 766's online-payment indicator.
    fee_bearing: int = 0
    paid_online: int = 0

    @property
    def online_share(self) -> float | None:
        return share(self.online, self.received)

    @property
    def paid_online_share(self) -> float | None:
        return share(self.paid_online, self.fee_bearing)


@dataclass
class IndexPart:
    """One indicator of the Decision 766/QĐ-TTg index (Bộ chỉ số phục vụ người dân, doanh nghiệp)."""

    key: str
    group: str  # the indicator group it belongs to
    max_points: float
    computed: bool
    ratio: float | None = None  # percent
    points: float | None = None


@dataclass
class Statistics:
    unit_code: str
    unit_name: str
    period: Period
    months: list[Month]  # the whole year of the period, January to December
    pending: int
    overdue: int
    procedures: list[ProcedureRow]
    ratings: dict[str, int]
    index: list[IndexPart]
    computed_at: datetime

    def _selected(self) -> list[Month]:
        return [m for m in self.months if self.period.month in (None, m.month)]

    @property
    def by_channel(self) -> dict[str, int]:
        return {channel: sum(m.received[channel] for m in self._selected()) for channel in CHANNELS}

    @property
    def received(self) -> int:
        return sum(self.by_channel.values())

    @property
    def early(self) -> int:
        return sum(m.early for m in self._selected())

    @property
    def on_time(self) -> int:
        return sum(m.on_time for m in self._selected())

    @property
    def late(self) -> int:
        return sum(m.late for m in self._selected())

    @property
    def without_due(self) -> int:
        return sum(m.without_due for m in self._selected())

    @property
    def resolved(self) -> int:
        return self.early + self.on_time + self.late + self.without_due

    @property
    def extended(self) -> int:
        return sum(m.extended for m in self._selected())

    @property
    def rated(self) -> int:
        return sum(self.ratings.values())

    @property
    def index_points(self) -> float:
        return round(sum(part.points or 0.0 for part in self.index), 1)

    @property
    def index_max_computed(self) -> float:
        return sum(part.max_points for part in self.index if part.computed)

    def to_json(self) -> dict[str, Any]:
        timed = self.early + self.on_time + self.late
        return {
            "unit": {"code": self.unit_code, "name": self.unit_name},
            "period": {"year": self.period.year, "month": self.period.month,
                       "start": self.period.start.isoformat(), "end": self.period.end.isoformat()},
            "computed_at": self.computed_at.isoformat(timespec="seconds"),
            "received": self.received,
            "by_channel": self.by_channel,
            "channel_shares": {c: share(n, self.received) for c, n in self.by_channel.items()},
            "resolved": self.resolved,
            "early": self.early, "on_time": self.on_time, "late": self.late, "without_due": self.without_due,
            "extended": self.extended,
            "timeliness_shares": {"early": share(self.early, timed), "on_time": share(self.on_time, timed),
                                  "late": share(self.late, timed)},
            "pending": self.pending, "overdue": self.overdue,
            "ratings": self.ratings,
            "rating_shares": {value: share(n, self.rated) for value, n in self.ratings.items()},
            "months": [{"month": m.month, "received": m.received, "early": m.early, "on_time": m.on_time,
                        "late": m.late, "without_due": m.without_due, "extended": m.extended,
                        "online_share": m.online_share}
                       for m in self.months],
            "procedures": [{"code": p.code, "name": p.name, "online_level": p.online_level, "received": p.received,
                            "online": p.online, "online_share": p.online_share, "fee_bearing": p.fee_bearing,
                            "paid_online": p.paid_online, "paid_online_share": p.paid_online_share}
                           for p in self.procedures],
            "index_766": {"points": self.index_points, "max_points_computed": self.index_max_computed,
                          "parts": [{"key": i.key, "group": i.group, "max_points": i.max_points,
                                     "computed": i.computed, "ratio": i.ratio, "points": i.points}
                                    for i in self.index]},
        }


# -- SQL that reads the same on SQLite and PostgreSQL -------------------------------------------------------
class _Sql:
    def __init__(self) -> None:
        self.connection = get_connection("default")
        self.postgres = is_postgres(self.connection)
        self.params: list[object] = []

    def param(self, value: object) -> str:
        if isinstance(value, datetime) and not self.postgres:
            # SQLite holds tortoise's datetimes as UTC text "YYYY-MM-DD HH:MM:SS[.ffffff]+00:00", which sorts
            # in time order; a boundary in the same form compares correctly.
            value = value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S+00:00")
        self.params.append(value)
        return param(len(self.params), self.connection)

    def local_day(self, column: str) -> str:
        """The calendar day in Vietnam, for comparing two columns (not for display)."""
        if self.postgres:
            # A day number from the epoch: session-time-zone-proof and several times cheaper than AT TIME ZONE.
            return f"FLOOR((date_part('epoch', {column}) + 25200) / 86400)"
        return f"date({column}, '+7 hours')"

    def local_month(self, column: str, year: int) -> str:
        """The month (1–12) in Vietnam of a time known to lie in `year`: a ladder of the month boundaries,
        plain comparisons that cost less per row than any date function on either database."""
        steps = " ".join(f"WHEN {column} < {self.param(Period(year, month).end)} THEN {month}" for month in range(1, 12))
        return f"CASE {steps} ELSE 12 END"

    async def rows(self, sql: str) -> list[dict[str, Any]]:
        return await self.connection.execute_query_dict(sql, self.params)


# A scope of many units (a province) reads the table in order: through the unit index SQLite would make one
# random lookup per dossier, several times slower. The unary plus keeps the planner off that index on SQLite and
# PostgreSQL alike; a commune's scope still uses it (idx on unit_id, received_at).
MANY_UNITS = 20


def _in_units(scope: Scope, column: str) -> str:
    # Integers from the database, never from the request: safe to write into the statement.
    ids = ", ".join(str(int(unit_id)) for unit_id in scope.unit_ids)
    return f"{'+' if len(scope.unit_ids) > MANY_UNITS else ''}{column} IN ({ids})"


async def _by_month(scope: Scope, period: Period, now: datetime, months: dict[int, Month]) -> tuple[int, int]:
    """One pass over the dossiers received or finished in the period's year: received by month and channel,
    resolved (processing ended) by month and timeliness, and the period's received dossiers still pending or
    overdue. The appointment judged is the original one (hạn gốc) when an apology extended it."""
    sql = _Sql()
    year = period.year_period
    appointment = "COALESCE(original_due_at, due_at)"

    # Placeholders are positional on SQLite, so each use takes its own parameters, in the order of the text.
    def received_in_year() -> str:
        return f"received_at >= {sql.param(year.start)} AND received_at < {sql.param(year.end)}"

    def finished_in_year() -> str:
        return f"finished_at >= {sql.param(year.start)} AND finished_at < {sql.param(year.end)}"

    finished, due = sql.local_day("finished_at"), sql.local_day(appointment)
    select = (
        f"SELECT CASE WHEN {received_in_year()} THEN {sql.local_month('received_at', year.year)} ELSE 0 END AS rm, "
        f"channel, CASE WHEN {finished_in_year()} THEN {sql.local_month('finished_at', year.year)} ELSE 0 END AS tm, "
        f"CASE WHEN finished_at IS NULL THEN '' WHEN {appointment} IS NULL THEN 'n' WHEN {finished} < {due} THEN 'e' "
        f"WHEN {finished} = {due} THEN 'o' ELSE 'l' END AS cls, "
        f"CASE WHEN original_due_at IS NULL THEN 0 ELSE 1 END AS ext, "
        f"CASE WHEN status IN ({', '.join(str(int(s)) for s in sorted(FINISHED))}) THEN 0 "
        f"WHEN {appointment} < {sql.param(now)} THEN 2 ELSE 1 END AS open_state, COUNT(*) AS n ")
    where = f"FROM dossiers WHERE {_in_units(scope, 'unit_id')} AND (({received_in_year()}) OR ({finished_in_year()})) "
    rows = await sql.rows(select + where + "GROUP BY 1, 2, 3, 4, 5, 6")
    pending = overdue = 0
    for row in rows:
        n, received_month, finished_month = int(row["n"]), int(row["rm"] or 0), int(row["tm"] or 0)
        if received_month:
            channel = row["channel"] if row["channel"] in CHANNELS else "direct"
            months[received_month].received[channel] += n
            if row["open_state"] and period.month in (None, received_month):
                pending += n
                overdue += n if int(row["open_state"]) == 2 else 0
        if finished_month and row["cls"]:
            month = months[finished_month]
            attribute = {"e": "early", "o": "on_time", "l": "late", "n": "without_due"}[row["cls"]]
            setattr(month, attribute, getattr(month, attribute) + n)
            month.extended += n if int(row["ext"]) else 0
    return pending, overdue


async def _by_procedure(scope: Scope, period: Period) -> list[ProcedureRow]:
    sql = _Sql()
    rows = await sql.rows(
        "SELECT procedure_version_id AS v, COUNT(*) AS n, SUM(CASE WHEN channel = 'online' THEN 1 ELSE 0 END) AS online, "
        "SUM(CASE WHEN fee_fixed_at IS NOT NULL THEN 1 ELSE 0 END) AS fees, "
        "SUM(CASE WHEN payment_channel IN ('transfer', 'gateway') THEN 1 ELSE 0 END) AS paid_online "
        f"FROM dossiers WHERE {_in_units(scope, 'unit_id')} AND received_at >= {sql.param(period.start)} "
        f"AND received_at < {sql.param(period.end)} GROUP BY procedure_version_id")
    versions = dict(await ProcedureVersion.filter(id__in=[row["v"] for row in rows]).values_list("id", "procedure_id"))
    procedures = {p.id: p for p in await Procedure.filter(id__in=list(set(versions.values())))}
    totals: dict[int, list[int]] = {}
    for row in rows:
        counts = totals.setdefault(versions[row["v"]], [0, 0, 0, 0])
        counts[0] += int(row["n"])
        counts[1] += int(row["online"] or 0)
        counts[2] += int(row["fees"] or 0)
        counts[3] += int(row["paid_online"] or 0)
    result = [ProcedureRow(procedures[pid].code, procedures[pid].name, procedures[pid].online, n, online, fees, paid)
              for pid, (n, online, fees, paid) in totals.items()]
    return sorted(result, key=lambda p: (-p.received, p.code))


async def _ratings(scope: Scope, period: Period) -> dict[str, int]:
    sql = _Sql()
    rows = await sql.rows(
        "SELECT r.value AS value, COUNT(*) AS n FROM ratings r JOIN dossiers d ON d.id = r.dossier_id "
        f"WHERE r.created_at >= {sql.param(period.start)} AND r.created_at < {sql.param(period.end)} "
        f"AND {_in_units(scope, 'd.unit_id')} GROUP BY r.value")
    counts = {value: 0 for value in RATINGS}
    for row in rows:
        if row["value"] in counts:
            counts[row["value"]] += int(row["n"])
    return counts


# -- Decision 766/QĐ-TTg -----------------------------------------------------------------------------------
# Its five groups and their maximum points; which indicators this system can compute is explained in
# docs/statistics.md. Within "online services" the decision's split of the 22 points was not verified, so the
# two computable indicators share the group equally and the score is marked an estimate.
GROUP_POINTS = {"transparency": 18, "timeliness": 20, "digitisation": 22, "online": 22, "satisfaction": 18}


async def _index(stats: Statistics) -> list[IndexPart]:
    timed = stats.early + stats.on_time + stats.late
    on_time = share(stats.early + stats.on_time, timed)
    # flat=True: tortoise's stub still says tuples
    procedures = cast("list[str]", await Procedure.all().values_list("online", flat=True))
    # Over the procedures whose level is known: a row known only from a province's list does not say (docs/statistics.md).
    known = [level for level in procedures if level != "unknown"]
    offered = share(sum(1 for level in known if level in ("full", "partial")), len(known))
    online_capable = [p for p in stats.procedures if p.online_level in ("full", "partial")]
    online_dossiers = share(sum(p.online for p in online_capable), sum(p.received for p in online_capable))
    # Satisfaction in receiving and resolving (6 of the group's 18 points): resolved dossiers not rated
    # "không hài lòng", over the resolved ones.
    satisfied = share(max(stats.resolved - stats.ratings["unsatisfied"], 0), stats.resolved)
    fee_bearing = sum(p.fee_bearing for p in stats.procedures)
    paid_online = share(sum(p.paid_online for p in stats.procedures), fee_bearing)

    def part(key: str, group: str, max_points: float, ratio: float | None) -> IndexPart:
        points = None if ratio is None else round(max_points * ratio / 100, 2)
        return IndexPart(key, group, max_points, True, ratio, points)

    return [
        IndexPart("publication", "transparency", 18, False),
        part("on_time", "timeliness", 20, on_time),
        IndexPart("digitisation", "digitisation", 22, False),
        part("online_procedures", "online", 7, offered),
        part("online_dossiers", "online", 7, online_dossiers),
        # Of the dossiers asked for a fee, the share paid online (docs/statistics.md); none asked: not computed.
        part("online_payment", "online", 8, paid_online) if fee_bearing else IndexPart("online_payment", "online", 8,
                                                                                       False),
        part("satisfaction", "satisfaction", 6, satisfied),
        IndexPart("feedback", "satisfaction", 12, False),
    ]


async def compute(scope: Scope, period: Period, now: datetime | None = None) -> Statistics:
    now = now or datetime.now(timezone.utc)
    months = {number: Month(number) for number in range(1, 13)}
    # The three statements are independent: on PostgreSQL they run at once on pooled connections.
    (pending, overdue), procedures, ratings = await asyncio.gather(
        _by_month(scope, period, now, months), _by_procedure(scope, period), _ratings(scope, period))
    stats = Statistics(unit_code=scope.unit.code, unit_name=scope.unit.name, period=period,
                       months=list(months.values()), pending=pending, overdue=overdue, procedures=procedures,
                       ratings=ratings, index=[], computed_at=now)
    stats.index = await _index(stats)
    return stats
