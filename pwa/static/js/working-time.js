// Appointments in working time, the same rules as server/working_time.py (docs/workflow.md "Deadlines"),
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

function countingStart(wall, calendar) {
  const cal = rules(calendar);
  const day = dayOf(wall);
  const secondOfDay = (wall - day * DAY_MS) / 1000;
  if (!working(day, calendar) || secondOfDay >= cal.cutoff) {
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

/** The appointment for a dossier received at `receivedAt`; null when the procedure publishes no duration. */
export function dueAt(receivedAt, processingDays, calendar) {
  if (processingDays === null || processingDays === undefined) return null;
  if (processingDays < 0) throw new Error('a processing time cannot be negative');
  const cal = rules(calendar);
  const start = countingStart(toMs(receivedAt) + OFFSET_MS, calendar);
  return formatVietnam(addWall(start, Math.round(processingDays * cal.daySeconds), calendar) - OFFSET_MS);
}

/** The appointment after the clock stood still from `pausedAt` to `resumedAt` (supplement, payment). */
export function resume(due, pausedAt, resumedAt, calendar) {
  const waited = workingSecondsBetween(pausedAt, resumedAt, calendar);
  const dueWall = toMs(due) + OFFSET_MS;
  return formatVietnam((waited === 0 ? dueWall : addWall(dueWall, waited, calendar)) - OFFSET_MS);
}

/** "early" | "on_time" | "late", by the calendar dates of return and appointment in Vietnam. */
export function timeliness(returnedAt, due) {
  const returned = dayOf(toMs(returnedAt) + OFFSET_MS);
  const appointment = dayOf(toMs(due) + OFFSET_MS);
  return returned < appointment ? 'early' : returned === appointment ? 'on_time' : 'late';
}
