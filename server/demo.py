"""`motcua demo`: a year of realistic dossiers for the province, so the statistics dashboard can be judged.

The shape follows what Vĩnh Phúc's provincial public administrative service centre reported for 2020
(docs/sources/centre-review-2020.txt, the centre's 2020 review; docs/statistics.md cites it): about 87,000 dossiers,
58.87 % received at the desk, 39.90 % online, 1.23 % by public postal service; of those resolved 25.82 % early,
74.08 % on time, the rest (0.10 %) late; 10,252 ratings for 84,772 resolved dossiers, 95.66 % "rất hài lòng"
and 4.34 % "hài lòng". Deadlines come from the working calendar (server/workflow/working_time.py) and each procedure's
processing time, so appointments skip weekends and holidays like real ones.

Rows are written with bulk inserts in batches. Demo dossiers are **not** written to the sync change log:
officers' devices do not pull them (they are for the server's pages and statistics), which keeps loading
87,000 dossiers to a minute or two.
"""

from __future__ import annotations

import random
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Callable, TypeVar

from tortoise.transactions import in_transaction

from server.workflow.dossier_codes import agency_code, format_code
from server.workflow.register_numbers import book_key
from server.dossiers.status import DossierStatus as S
from server.models import (AdministrativeUnit, Dossier, DossierCodeCounter, DossierEvent, Procedure, RegisterCounter,
                           ProcedureVersion, Rating)
from server.seed import demo_unit
from server.statistics.figures import province_of
from server.vietnamese import fold
from server.workflow.working_time import VIETNAM, WorkingCalendar, load_calendar, vietnam_date

DEFAULT_DOSSIERS = 87_000  # Trung tâm PVHCC tỉnh Vĩnh Phúc, 2020: "gần 87.000 hồ sơ"
BATCH = 2_000

# Channel shares of 2020 (direct 58.87 %, online 39.90 %, postal 1.23 %). Field intake by commune officers did
# not exist then; the demo takes 2 % of commune desk dossiers as field intake so the channel shows.
ONLINE_SHARE, POSTAL_SHARE, FIELD_SHARE_OF_DIRECT = 0.3990, 0.0123, 0.02
# Resolved: 21,888 early, 62,801 on time of 84,772, so 83 late.
EARLY_SHARE, LATE_SHARE = 21_888 / 84_772, 83 / 84_772
# Ratings: 10,252 of 84,772 resolved dossiers were rated; 95.66 % very satisfied, 4.34 % satisfied. The seeds
# report no "không hài lòng"; the demo gives 0.2 % so that the reason and the index formula show.
RATED_SHARE = 10_252 / 84_772
RATING_SHARES = (("very_satisfied", 0.9546), ("satisfied", 0.0434), ("unsatisfied", 0.0020))
UNSATISFIED_REASONS = ("Phải đi lại nhiều lần để bổ sung giấy tờ.", "Thời gian chờ tại quầy quá lâu.",
                       "Cán bộ hướng dẫn chưa rõ ràng.")
REFUSED_SHARE = 0.004  # online dossiers refused at reception (not complete, not competent)
UNPUBLISHED_DAYS = 5  # working days assumed for a procedure whose time is not published in the catalog

FAMILY = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Phan", "Đỗ", "Bùi", "Đặng", "Ngô", "Dương", "Lý", "Hà",
          "Đào", "Đinh", "Lương", "Kiều", "Tạ", "Lưu")
MIDDLE = ("Văn", "Thị", "Đức", "Minh", "Thu", "Hữu", "Ngọc", "Quang", "Thanh", "Xuân", "Hồng", "Kim", "Công")
GIVEN = ("An", "Bình", "Chi", "Dũng", "Giang", "Hà", "Hải", "Hằng", "Hiếu", "Hoa", "Hùng", "Huyền", "Khánh",
         "Lan", "Linh", "Long", "Mai", "Nam", "Nga", "Ngọc", "Phương", "Quân", "Sơn", "Tâm", "Thảo", "Trang",
         "Tuấn", "Vân", "Việt", "Yến")


class DemoError(Exception):
    pass


@dataclass
class DemoReport:
    dossiers: int = 0
    events: int = 0
    ratings: int = 0
    returned: int = 0
    pending: int = 0
    by_channel: Counter[str] = field(default_factory=Counter)
    start: date | None = None
    end: date | None = None


@dataclass(frozen=True)
class _Procedure:
    id: int
    version_id: int
    level: str
    online: str
    days: float
    incomplete: bool = False  # known only from a list (docs/catalog.md): no documents, times often unpublished


def _working_moment(rng: random.Random, calendar: WorkingCalendar, day: date, not_before: datetime | None = None,
                    not_after: datetime | None = None) -> datetime:
    """A random instant in the day's working hours, within the given bounds when they fall on that day."""
    spans = [(datetime.combine(day, start, VIETNAM), datetime.combine(day, end, VIETNAM)) for start, end in calendar.hours]
    low = spans[0][0] if not_before is None else max(spans[0][0], not_before)
    high = spans[-1][1] if not_after is None else min(spans[-1][1], not_after)
    if high <= low:
        return low
    for _ in range(4):  # draw until the moment is not in the lunch break
        moment = low + timedelta(seconds=rng.uniform(0, (high - low).total_seconds()))
        if any(start <= moment <= end for start, end in spans):
            return moment
    return moment


def _working_days(calendar: WorkingCalendar, first: date, last: date) -> list[date]:
    days, day = [], first
    while day <= last:
        if calendar.is_working_day(day):
            days.append(day)
        day += timedelta(days=1)
    return days


def _name(rng: random.Random) -> str:
    return f"{rng.choice(FAMILY)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}"


T = TypeVar("T")


def _pick(rng: random.Random, weighted: Sequence[tuple[T, float]]) -> T:
    return rng.choices([item for item, _ in weighted], weights=[w for _, w in weighted])[0]


async def _procedures() -> list[_Procedure]:
    procedures = await Procedure.all().order_by("code")
    versions = {(procedure_id, version): (version_id, content) for procedure_id, version, version_id, content in
                await ProcedureVersion.filter(procedure_id__in=[p.id for p in procedures]).values_list(
                    "procedure_id", "version", "id", "content")}
    found = []
    for p in procedures:
        if (p.id, p.current_version) not in versions:
            continue
        version_id, content = versions[(p.id, p.current_version)]
        found.append(_Procedure(p.id, version_id, p.level, p.online,
                                float(p.processing_days) if p.processing_days is not None else UNPUBLISHED_DAYS,
                                bool(isinstance(content, dict) and content.get("incomplete"))))
    return found


async def generate(dossiers: int = DEFAULT_DOSSIERS, year: int | None = None, seed: int = 2020,
                   now: datetime | None = None, progress: Callable[[str], None] = lambda line: None) -> DemoReport:
    now = now or datetime.now(timezone.utc)
    this_year = now.astimezone(VIETNAM).year
    year = year or this_year
    if year > this_year:
        raise DemoError(f"năm {year} chưa đến / year {year} has not come yet")
    if dossiers < 1 or dossiers > 2_000_000:
        raise DemoError("--dossiers must be from 1 to 2,000,000")
    unit = await demo_unit()
    procedures = await _procedures()
    if unit is None or not procedures:
        raise DemoError("no units or procedures: run `motcua seed` first")
    province = await province_of(unit)
    communes = await AdministrativeUnit.filter(parent_id=province.id, valid_to__isnull=True).order_by("code")
    if not communes:
        raise DemoError(f"{province.name} has no communes in force: run `motcua seed` first")
    rng = random.Random(seed)
    calendar = await load_calendar()

    # Who receives what: province-level procedures at the provincial centre, the rest at communes, wards busier.
    commune_weights = [(c, rng.lognormvariate(0, 0.6) * (2.5 if fold(c.kind) == "phuong" else 1.0)) for c in communes]
    # The busiest are the commonest procedures, those described in full (births, marriages, certified copies: the
    # hand-made ones); the long tail of a commune's list, known only by name, comes after.
    complete = [p for p in procedures if not p.incomplete]
    tail = [p for p in procedures if p.incomplete]
    rng.shuffle(complete)
    rng.shuffle(tail)
    order = complete + tail
    procedure_weights = [(p, 1 / (rank + 1) ** 0.8) for rank, p in enumerate(order)]
    online_capable = sum(w for p, w in procedure_weights if p.online in ("full", "partial")) / sum(w for _, w in procedure_weights)
    online_chance = min(ONLINE_SHARE / online_capable, 0.95)
    # Same-day procedures cannot be early: the others are early more often, so the whole matches the seeds.
    multi_day = sum(w for p, w in procedure_weights if p.days >= 1) / sum(w for _, w in procedure_weights)
    early_chance = min(EARLY_SHARE / max(multi_day, 0.01), 0.95)

    start = date(year, 1, 1)
    end_moment = min(datetime(year + 1, 1, 1, tzinfo=VIETNAM), now - timedelta(hours=1))
    last_day = vietnam_date(end_moment - timedelta(microseconds=1))
    days = _working_days(calendar, start, last_day)
    # Fewer dossiers around Tết (January–February), a few more at the end of the year.
    day_weights = [(d, (0.75 if d.month in (1, 2) else 1.1 if d.month >= 10 else 1.0) * rng.uniform(0.8, 1.2))
                   for d in days]
    if not days:
        raise DemoError(f"no working day in {year} before now")
    report = DemoReport(start=start, end=last_day)

    existing = dict(await DossierCodeCounter.all().values_list("key", "last_number"))
    numbers: Counter[str] = Counter()
    # Register books (form 07): each received dossier takes the next line of its unit's book for the year.
    books = dict(await RegisterCounter.all().values_list("key", "last_number"))
    lines: Counter[str] = Counter()
    rows: list[Dossier] = []
    events: list[DossierEvent] = []
    ratings: list[Rating] = []
    draws = rng.choices([d for d, _ in day_weights], weights=[w for _, w in day_weights], k=dossiers)
    draws.sort()  # codes numbered in receiving order within a day

    async def flush() -> None:
        async with in_transaction():
            await Dossier.bulk_create(rows, batch_size=BATCH)
            await DossierEvent.bulk_create(events, batch_size=BATCH)
            await Rating.bulk_create(ratings, batch_size=BATCH)
        report.events += len(events)
        report.ratings += len(ratings)
        rows.clear()
        events.clear()
        ratings.clear()
        progress(f"  {report.dossiers:,} dossiers")

    for day in draws:
        procedure: _Procedure = _pick(rng, procedure_weights)
        office = province if procedure.level == "province" else _pick(rng, commune_weights)
        received = _working_moment(rng, calendar, day, not_after=end_moment.astimezone(VIETNAM))
        roll = rng.random()
        if procedure.online in ("full", "partial") and roll < online_chance:
            channel = "online"
        elif rng.random() < POSTAL_SHARE / (1 - ONLINE_SHARE):
            channel = "postal"
        elif office.level == "commune" and rng.random() < FIELD_SHARE_OF_DIRECT:
            channel = "field"
        else:
            channel = "direct"
        submitted = received - timedelta(hours=rng.uniform(0.2, 30)) if channel == "online" else received
        dossier_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        report.dossiers += 1
        report.by_channel[channel] += 1
        first_action = ("submit", S.DRAFT) if channel == "online" else ("create", None)
        trail = [(first_action[0], first_action[1], S.SUBMITTED, submitted)]
        values = dict(id=dossier_id, procedure_version_id=procedure.version_id, unit_id=office.id,
                      handling_unit_id=office.id, channel=channel, data={"full_name": _name(rng)},
                      submitted_at=submitted, postal_submit=channel == "postal",
                      postal_return=channel == "postal" and rng.random() < 0.8)
        refused = rng.random() < REFUSED_SHARE
        if channel == "online" and refused:
            trail.append(("refuse", S.SUBMITTED, S.REFUSED, received))
            rows.append(Dossier(**values, status=S.REFUSED))
        else:
            due = calendar.due_at(received, procedure.days)
            key = f"{agency_code(office)}-{day:%y%m%d}"
            numbers[key] += 1
            code = format_code(agency_code(office), day, existing.get(key, 0) + numbers[key])
            book = book_key(office.id, day.year)
            lines[book] += 1
            # Timeliness is decided by when processing ended (Decree 61/2018; docs/domain.md "Timeliness"): the
            # seeds' shares apply to the finish; the citizen collects the result the same day or some days later.
            finished = _return_moment(rng, calendar, received, due, early_chance)
            started = received + (finished - received) * rng.uniform(0.05, 0.3)
            later = rng.uniform(0.1, 3) * 3600 if rng.random() < 0.7 else rng.uniform(1, 10) * calendar.day_seconds
            returned = calendar.add_working_seconds(finished, int(later))
            # A leader signs the drafted result before it is handed over (docs/workflow.md "Approval").
            approved = calendar.add_working_seconds(finished, int(min(later / 2, 3600)))
            trail.append(("receive", S.SUBMITTED, S.RECEIVED, received))
            status, returned_at, finished_at, paused = S.RECEIVED, None, None, None
            approved_at = None
            for action, from_status, to_status, at in (("start", S.RECEIVED, S.PROCESSING, started),
                                                       ("finish", S.PROCESSING, S.RESULT_READY, finished),
                                                       ("approve", S.RESULT_READY, S.RESULT_READY, approved),
                                                       ("return", S.RESULT_READY, S.RETURNED, returned)):
                if at > now:
                    break
                trail.append((action, from_status, to_status, at))
                status = to_status
                finished_at = finished if action == "finish" else finished_at
                approved_at = approved if action == "approve" else approved_at
            # Every draw is made whatever the status, so a seed gives the same dossiers whenever it is run.
            rated, value = rng.random() < RATED_SHARE, _pick(rng, list(RATING_SHARES))
            rated_at, reason = returned + timedelta(hours=rng.uniform(0.1, 72)), rng.choice(UNSATISFIED_REASONS)
            waiting, waited = rng.random() < 0.1, timedelta(days=rng.uniform(0.5, 6))
            if status == S.RETURNED:
                returned_at = returned
                report.returned += 1
                if rated:
                    ratings.append(Rating(dossier_id=dossier_id, value=value, created_at=min(rated_at, now),
                                          reason=reason if value == "unsatisfied" else ""))
            else:
                report.pending += 1
                if status == S.PROCESSING and waiting:  # waiting for the citizen's supplement: the clock stops
                    status, paused = S.SUPPLEMENT, max(started, now - waited)
                    trail.append(("request_supplement", S.PROCESSING, S.SUPPLEMENT, paused))
            rows.append(Dossier(**values, code=code, status=status, received_at=received, due_at=due,
                                register_year=day.year, register_number=books.get(book, 0) + lines[book],
                                finished_at=finished_at, returned_at=returned_at, clock_paused_at=paused,
                                approved_at=approved_at,
                                substatus="requested" if status == S.SUPPLEMENT
                                else ("approved" if approved_at else "drafted") if status == S.RESULT_READY else None))
        events.extend(DossierEvent(dossier_id=dossier_id, action=action, from_status=from_status, to_status=to_status,
                                   from_unit_id=office.id if from_status is not None else None, to_unit_id=office.id,
                                   at=at, note="") for action, from_status, to_status, at in trail)
        if len(rows) >= BATCH * 5:
            await flush()
    if rows:
        await flush()
    await _save_counters(existing, numbers)
    await _save_books(books, lines)
    return report


def _return_moment(rng: random.Random, calendar: WorkingCalendar, received: datetime, due: datetime | None,
                   early_chance: float) -> datetime:
    """When processing ends (result ready): early, on the appointment date or (rarely) late, in the seeds' shares."""
    received_day = vietnam_date(received)
    due_day = vietnam_date(due) if due else received_day + timedelta(days=7)
    roll = rng.random()
    if roll < LATE_SHARE:
        day = due_day
        for _ in range(rng.randint(1, 4)):
            day = calendar.next_working_day(day)
    elif roll < LATE_SHARE + early_chance and due_day > received_day:
        choices = _working_days(calendar, received_day, due_day - timedelta(days=1)) or [received_day]
        day = rng.choice(choices)
    else:
        day = due_day
    floor = received + timedelta(minutes=10) if day == received_day else None
    ceiling = due.astimezone(VIETNAM) if due and day == due_day and due > received + timedelta(minutes=10) else None
    moment = _working_moment(rng, calendar, day, not_before=floor, not_after=ceiling)
    return max(moment, received + timedelta(minutes=10))


async def _save_books(existing: dict[str, int], lines: Counter[str]) -> None:
    """Register books moved past the demo's lines, so a reception made later takes the next line, with no gap."""
    async with in_transaction():
        await RegisterCounter.bulk_create([RegisterCounter(key=key, last_number=count)
                                           for key, count in lines.items() if key not in existing], batch_size=BATCH)
        for key, count in lines.items():
            if key in existing:
                await RegisterCounter.filter(key=key).update(last_number=existing[key] + count)


async def _save_counters(existing: dict[str, int], numbers: Counter[str]) -> None:
    """Dossier-code counters moved past the demo's numbers, so codes given later never repeat one."""
    new = [DossierCodeCounter(key=key, last_number=count) for key, count in numbers.items() if key not in existing]
    async with in_transaction():
        await DossierCodeCounter.bulk_create(new, batch_size=BATCH)
        for key, count in numbers.items():
            if key in existing:
                await DossierCodeCounter.filter(key=key).update(last_number=existing[key] + count)
