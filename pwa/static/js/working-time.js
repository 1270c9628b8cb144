// Appointments in working time, the same rules as server/workflow/working_time.py (docs/workflow.md "Deadlines"),
// so a receipt issued offline shows the appointment the server will compute. tests/test_working_time_js.py
// runs shared cases through both. `calendar` is the JSON of GET /api/calendar.
//
// Times are computed on the Vietnam wall clock (UTC+7 all year, no daylight saving time): a "wall" value is
// milliseconds since 1970-01-01T00:00 in Vietnam.

const OFFSET_MS = 7 * 3600 * 1000;
const DAY_MS = 86400 * 1000;
const MAX_DAYS_WALKED = 3 * 366;
const ZONED = /(?:Z|[+-]\d\d:\d\d)$/;

function seconds(hhmm) {
  const [h, m] = hhmm.split(':').map(Number);
  return h * 3600 + m * 60;
}

const parsed = new WeakMap();

function rules(calendar) {
  let cal = parsed.get(calendar);
  if (cal) return cal;
  const periods = calendar.working_hours.map(([start, end]) => [seconds(start), seconds(end)]);
  cal = {
    periods,
    daySeconds: periods.reduce((sum, [start, end]) => sum + end - start, 0),
    cutoff: calendar.cutoff ? seconds(calendar.cutoff) : periods[periods.length - 1][1],
    holidays: new Set(calendar.days.filter((d) => d.kind === 'holiday').map((d) => d.day)),
    makeup: new Set(calendar.days.filter((d) => d.kind === 'makeup').map((d) => d.day)),
  };
  parsed.set(calendar, cal);
  return cal;
}

function toMs(moment) {
  if (moment instanceof Date) return moment.getTime();
  if (typeof moment !== 'string' || !ZONED.test(moment)) throw new Error('times must carry their time zone');
  const ms = Date.parse(moment);
  if (Number.isNaN(ms)) throw new Error('not a time: ' + moment);
  return ms;
}

const dayOf = (wall) => Math.floor(wall / DAY_MS);
const isoDay = (day) => new Date(day * DAY_MS).toISOString().slice(0, 10);

export function isWorkingDay(day, calendar) {
  // `day`: "YYYY-MM-DD"
  const cal = rules(calendar);
  if (cal.makeup.has(day)) return true;
  const weekday = new Date(day + 'T00:00:00Z').getUTCDay(); // 0 Sunday … 6 Saturday
  return weekday >= 1 && weekday <= 5 && !cal.holidays.has(day);
}

function working(dayIndex, calendar) {
  return isWorkingDay(isoDay(dayIndex), calendar);
}

function nextWorkingDay(dayIndex, calendar) {
  for (let i = 0; i < MAX_DAYS_WALKED; i++) {
    dayIndex += 1;
    if (working(dayIndex, calendar)) return dayIndex;
  }
  throw new Error('no working day within three years');
}

function countingStart(wall, calendar, cutoff) {
  const cal = rules(calendar);
  const day = dayOf(wall);
  const secondOfDay = (wall - day * DAY_MS) / 1000;
  if (!working(day, calendar) || secondOfDay >= (cutoff === undefined ? cal.cutoff : cutoff)) {
    return nextWorkingDay(day, calendar) * DAY_MS + cal.periods[0][0] * 1000;
  }
  for (const [start, end] of cal.periods) {
    const periodEnd = day * DAY_MS + end * 1000;
    if (wall < periodEnd) return Math.max(wall, day * DAY_MS + start * 1000);
  }
  return nextWorkingDay(day, calendar) * DAY_MS + cal.periods[0][0] * 1000;
}

function addWall(wall, secondsToAdd, calendar) {
  if (secondsToAdd < 0) throw new Error('cannot add negative working time');
  const cal = rules(calendar);
  let day = dayOf(wall);
  let remaining = secondsToAdd * 1000;
  for (let i = 0; i < MAX_DAYS_WALKED; i++, day++) {
    if (!working(day, calendar)) continue;
    for (const [start, end] of cal.periods) {
      const begin = Math.max(wall, day * DAY_MS + start * 1000);
      const periodEnd = day * DAY_MS + end * 1000;
      if (begin >= periodEnd) continue;
      const available = Math.floor((periodEnd - begin) / 1000) * 1000;
      if (remaining <= available) return begin + remaining;
      remaining -= available;
    }
  }
  throw new Error('the deadline is more than three years away');
}

function betweenWall(a, b, calendar) {
  if (b <= a) return 0;
  const cal = rules(calendar);
  let total = 0;
  for (let day = dayOf(a); day <= dayOf(b); day++) {
    if (!working(day, calendar)) continue;
    for (const [start, end] of cal.periods) {
      const overlap = Math.min(b, day * DAY_MS + end * 1000) - Math.max(a, day * DAY_MS + start * 1000);
      if (overlap > 0) total += Math.floor(overlap / 1000);
    }
  }
  return total;
}

const two = (n) => String(n).padStart(2, '0');

/** An instant as the server writes Vietnam times: 2026-02-25T10:00:00+07:00. */
export function formatVietnam(ms) {
  const d = new Date(ms + OFFSET_MS);
  return `${d.getUTCFullYear()}-${two(d.getUTCMonth() + 1)}-${two(d.getUTCDate())}T${two(d.getUTCHours())}:` +
    `${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}+07:00`;
}

export function addWorkingSeconds(start, secondsToAdd, calendar) {
  return formatVietnam(addWall(toMs(start) + OFFSET_MS, secondsToAdd, calendar) - OFFSET_MS);
}

export function workingSecondsBetween(a, b, calendar) {
  return betweenWall(toMs(a) + OFFSET_MS, toMs(b) + OFFSET_MS, calendar);
}

// Units of a processing time, as the national procedure data give them; "same day" (0) has a cut-off, 15:00
// unless the procedure sets its own (national data; Decree 23/2015 Art. 7).
const UNITS = ['working_days', 'days', 'hours'];
const SAME_DAY_CUTOFF = '15:00';

function closing(dayIndex, cal) {
  return dayIndex * DAY_MS + cal.periods[cal.periods.length - 1][1] * 1000;
}

/**
 * The processing time of a dossier as { amount, unit }: its sub-case's where the generic form asked which one
 * (`caseValue`, "case-N" of the cases that set their own time, once each by name), else the channel's it came by
 * (the national data give each channel its own), else the procedure's default. The same rule as processing_time in
 * server/workflow/deadlines.py (timed_cases in server/catalog/generic.py).
 */
export function processingTime(procedure, channel, caseValue = null) {
  if (caseValue) {
    const byName = new Map();
    for (const c of procedure.cases || []) {
      if (c && c.name && c.processing_unit && c.processing_time !== null && c.processing_time !== undefined && !byName.has(c.name)) byName.set(c.name, c);
    }
    const timed = byName.size > 1 ? [...byName.values()] : [];
    const chosen = timed[Number(String(caseValue).replace("case-", "")) - 1];
    if (chosen && caseValue === `case-${timed.indexOf(chosen) + 1}`) return { amount: Number(chosen.processing_time), unit: chosen.processing_unit };
  }
  for (const method of procedure.channels || []) {
    if (method && method.channel === channel && method.processing_time !== null && method.processing_time !== undefined
        && method.processing_unit) return { amount: Number(method.processing_time), unit: method.processing_unit };
  }
  const days = procedure.processing_days;
  return { amount: days === null || days === undefined ? null : Number(days), unit: procedure.processing_unit || 'working_days' };
}

/**
 * The appointment for a dossier received at `receivedAt`; null when the procedure publishes no duration.
 * `amount` is in `options.unit` (working_days by default, days, hours); `options.cutoff` ("15:00") is the
 * procedure's own cut-off hour.
 */
export function dueAt(receivedAt, amount, calendar, options = {}) {
  if (amount === null || amount === undefined) return null;
  if (amount < 0) throw new Error('a processing time cannot be negative');
  const unit = options.unit || 'working_days';
  if (!UNITS.includes(unit)) throw new Error('unknown unit of processing time: ' + unit);
  const cal = rules(calendar);
  const received = toMs(receivedAt) + OFFSET_MS;
  const own = options.cutoff ? seconds(options.cutoff) : undefined;
  if (amount === 0) {
    const start = countingStart(received, calendar, own === undefined ? seconds(SAME_DAY_CUTOFF) : own);
    return formatVietnam(closing(dayOf(start), cal) - OFFSET_MS);
  }
  const start = countingStart(received, calendar, own);
  if (unit === 'hours') return formatVietnam(addWall(start, Math.round(amount * 3600), calendar) - OFFSET_MS);
  if (unit === 'days') {
    let last = dayOf(start) + Math.ceil(amount);
    if (!working(last, calendar)) last = nextWorkingDay(last, calendar);
    return formatVietnam(closing(last, cal) - OFFSET_MS);
  }
  return formatVietnam(addWall(start, Math.round(amount * cal.daySeconds), calendar) - OFFSET_MS);
}

/** The appointment after the clock stood still from `pausedAt` to `resumedAt` (supplement, payment). */
export function resume(due, pausedAt, resumedAt, calendar) {
  const waited = workingSecondsBetween(pausedAt, resumedAt, calendar);
  const dueWall = toMs(due) + OFFSET_MS;
  return formatVietnam((waited === 0 ? dueWall : addWall(dueWall, waited, calendar)) - OFFSET_MS);
}

/**
 * "early" | "on_time" | "late", by the calendar dates in Vietnam of the end of processing (result ready) and of
 * the original appointment (Decree 61/2018; docs/domain.md "Timeliness").
 */
export function timeliness(finishedAt, due) {
  const finished = dayOf(toMs(finishedAt) + OFFSET_MS);
  const appointment = dayOf(toMs(due) + OFFSET_MS);
  return finished < appointment ? 'early' : finished === appointment ? 'on_time' : 'late';
}
