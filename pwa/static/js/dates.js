// Dates and times as people in Vietnam write them, whatever language the browser is set to: dd/mm/yyyy and
// HH:mm on a 24-hour clock, in Vietnam's time (UTC+7 all year, no summer time). This is the one place the app turns
// a moment into text and a typed date back into a value (docs/pwa.md "Dates"): toLocaleString and Intl follow the
// browser's settings (11/26/2026 in one set to American English), so neither is used anywhere else.
import { h } from "./dom.js";
import { lang, tr } from "./i18n.js";

const VIETNAM_OFFSET_MS = 7 * 3600 * 1000;
const ISO_DAY = /^(\d{4})-(\d{2})-(\d{2})$/;
const two = (n) => String(n).padStart(2, "0");

/** The calendar parts of a moment in Vietnam: an ISO text, a Date or milliseconds; a bare day stays that day. */
function parts(value) {
  if (value === null || value === undefined || value === "") return null;
  const day = typeof value === "string" && ISO_DAY.exec(value);
  if (day) return { y: Number(day[1]), m: Number(day[2]), d: Number(day[3]), H: 0, M: 0 };
  const ms = value instanceof Date ? value.getTime() : typeof value === "number" ? value : Date.parse(value);
  if (Number.isNaN(ms)) return null;
  const at = new Date(ms + VIETNAM_OFFSET_MS);
  return { y: at.getUTCFullYear(), m: at.getUTCMonth() + 1, d: at.getUTCDate(), H: at.getUTCHours(), M: at.getUTCMinutes() };
}

/** "26/11/2026". */
export function formatDate(value) {
  const p = parts(value);
  return p ? `${two(p.d)}/${two(p.m)}/${p.y}` : "";
}

/** "14:05" (24 h). */
export function formatTime(value) {
  const p = parts(value);
  return p ? `${two(p.H)}:${two(p.M)}` : "";
}

/** "26/11/2026 14:05". */
export function formatDateTime(value) {
  const p = parts(value);
  return p ? `${formatDate(value)} ${formatTime(value)}` : "";
}

/**
 * The wording of the official papers (docs/domain.md, dates): "14 giờ 05 phút, ngày 26 tháng 11 năm 2026", or
 * "ngày 26 tháng 11 năm 2026" without the time; in English "26/11/2026 14:05".
 */
export function longDateTime(value, { time = true } = {}) {
  const p = parts(value);
  if (!p) return "";
  if (lang === "en") return time ? formatDateTime(value) : formatDate(value);
  const day = `ngày ${two(p.d)} tháng ${two(p.m)} năm ${p.y}`;
  return time ? `${two(p.H)} giờ ${two(p.M)} phút, ${day}` : day;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * A date typed by a person, as YYYY-MM-DD, or null: "26/11/2026", "26-11-2026", "26.11.2026", "6/1/2026",
 * "26112026" (eight digits, day first), or already "2026-11-26" (pasted, or a browser's autofill).
 */
export function parseDate(text) {
  const value = String(text ?? "").trim();
  let y, m, d;
  const iso = ISO_DAY.exec(value);
  const dayFirst = /^(\d{1,2})\s*[/.\- ]\s*(\d{1,2})\s*[/.\- ]\s*(\d{4})$/.exec(value);
  const digits = /^(\d{2})(\d{2})(\d{4})$/.exec(value);
  if (iso) [y, m, d] = [iso[1], iso[2], iso[3]].map(Number);
  else if (dayFirst || digits) [d, m, y] = [...(dayFirst || digits).slice(1, 4)].map(Number);
  else return null;
  const leap = y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
  const days = m === 2 && leap ? 29 : DAYS_IN_MONTH[m - 1];
  if (y < 1 || m < 1 || m > 12 || d < 1 || d > days) return null;
  return `${String(y).padStart(4, "0")}-${two(m)}-${two(d)}`;
}

/**
 * A date field that always reads dd/mm/yyyy. The browser's own date input shows the browser's order (mm/dd/yyyy
 * in American English) and cannot be told otherwise, so this is a text input: `onValue` gets YYYY-MM-DD when what
 * is typed is a date, else the text itself (so the validator can say it is not one); leaving the field rewrites a
 * date as dd/mm/yyyy. `value` is YYYY-MM-DD or a text typed earlier.
 */
export function dateInput({ value = "", onValue = () => {}, ...attrs }) {
  const shown = ISO_DAY.test(value || "") ? formatDate(value) : value || "";
  const input = h("input", { ...attrs, type: "text", inputmode: "numeric", autocomplete: attrs.autocomplete || "off",
    placeholder: tr("ngày/tháng/năm", "dd/mm/yyyy"), maxlength: 10, value: shown, "data-date": parseDate(shown) || null,
    oninput: (e) => {
      const day = parseDate(e.target.value);
      if (day) e.target.dataset.date = day; else delete e.target.dataset.date;
      onValue(day || e.target.value);
    },
    onchange: (e) => { const day = parseDate(e.target.value); if (day) e.target.value = formatDate(day); } });
  return input;
}
