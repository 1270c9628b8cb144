// The form validator in the browser: the rules of server/catalog/forms.py (docs/forms.md), so that a
// citizen drafting offline sees the errors the server would send, in the same words.
// tests/test_forms_js.py runs both on the same cases and on random data and compares.
import { cccdProblems, codePoints, isCmnd, nfc, normalizePhone, splitWords, strip } from "./vietnamese.js";

// server/catalog/forms.py LIMITS: text and textarea are the implicit max_length of those types.
const LIMITS = { text: 2000, textarea: 10000, detail: 200, email: 254, group_items: 100, unknown_reported: 20, number_string: 40 };
const DATE_PATTERN = /^[0-9]{4}-[0-9]{2}-[0-9]{2}$/;
const NUMBER_STRING_PATTERN = /^-?[0-9]+(\.[0-9]+)?$/;
const COMMUNE_CODE_PATTERN = /^[0-9]{5}$/;
const EMAIL_PATTERN = new RegExp(
  "^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?" +
  "(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\\.[A-Za-z]{2,63}$");
// Code points, not UTF-16 units (flag u): a lone surrogate is refused, a pair is one character.
// eslint-disable-next-line no-control-regex -- refusing control characters is the point
const BAD_CHARS = /[\x00-\x08\x0b-\x1f\x7f-\x9f\ufeff\ud800-\udfff]/u;
const LINE_BREAK = /[\t\n\r\u2028\u2029]/;

// The texts of server/catalog/forms.py MESSAGES, word for word: the server and the device must say the same.
const MESSAGES = {
  required: ["Vui lòng nhập {label}.", "Please enter {label}."],
  required_choice: ["Vui lòng chọn {label}.", "Please choose {label}."],
  required_group: ["Vui lòng thêm ít nhất một mục cho {label}.", "Please add at least one entry to {label}."],
  type_form: ["Dữ liệu tờ khai không đúng định dạng.", "The form data must be a JSON object."],
  type_text: ["{label} phải là chữ.", "{label} must be text."],
  type_number: ["{label} phải là một số, ví dụ 12 hoặc 12.5 (không dùng dấu phân cách hàng nghìn).",
    "{label} must be a number, e.g. 12 or 12.5 (no thousands separators)."],
  type_list: ["{label} phải là một danh sách.", "{label} must be a list."],
  type_object: ["{label} không đúng định dạng.", "{label} has the wrong format."],
  one_line: ["{label} chỉ được viết trên một dòng.", "{label} must be a single line."],
  bad_char: ["{label} có ký tự không hợp lệ, vui lòng nhập lại.", "{label} contains invalid characters; please type it again."],
  too_short: ["{label} phải có ít nhất {limit} ký tự.", "{label} must have at least {limit} characters."],
  too_long: ["{label} chỉ được có tối đa {limit} ký tự.", "{label} must have at most {limit} characters."],
  pattern: ["{label} không đúng định dạng quy định.", "{label} is not in the required format."],
  min: ["{label} phải lớn hơn hoặc bằng {limit}.", "{label} must be at least {limit}."],
  max: ["{label} phải nhỏ hơn hoặc bằng {limit}.", "{label} must be at most {limit}."],
  min_date: ["{label} không được trước ngày {limit}.", "{label} cannot be before {limit}."],
  max_date: ["{label} không được sau ngày {limit}.", "{label} cannot be after {limit}."],
  min_today: ["{label} không được trước ngày hôm nay.", "{label} cannot be in the past."],
  max_today: ["{label} không được sau ngày hôm nay.", "{label} cannot be in the future."],
  not_integer: ["{label} phải là số nguyên.", "{label} must be a whole number."],
  invalid_date: ["{label} không phải là ngày hợp lệ, vui lòng chọn lại ngày.",
    "{label} is not a valid date; please choose the date again."],
  not_an_option: ["Vui lòng chọn {label} trong danh sách có sẵn.", "Please choose {label} from the list."],
  too_few: ["{label} cần có ít nhất {limit} mục.", "{label} needs at least {limit} entries."],
  too_many: ["{label} chỉ được có tối đa {limit} mục.", "{label} can have at most {limit} entries."],
  duplicate: ["{label}: mỗi lựa chọn chỉ được chọn một lần.", "{label}: each option can be chosen only once."],
  invalid_phone: ["{label} phải gồm 10 chữ số, bắt đầu bằng 03, 05, 07, 08 hoặc 09.",
    "{label} must have 10 digits and start with 03, 05, 07, 08 or 09."],
  invalid_email: ["{label} không đúng định dạng, ví dụ: ten@example.com.",
    "{label} is not a valid e-mail address, e.g. name@example.com."],
  cccd_length: ["{label} phải gồm đúng 12 chữ số.", "{label} must have exactly 12 digits."],
  cccd_or_cmnd_length: ["{label} phải gồm 12 chữ số (căn cước) hoặc 9 chữ số (chứng minh nhân dân cũ).",
    "{label} must have 12 digits (citizen ID) or 9 digits (old identity card)."],
  cccd_province: [
    "{label}: ba chữ số đầu ({province}) không phải mã tỉnh, thành phố nơi đăng ký khai sinh. " +
    "Vui lòng kiểm tra lại số trên thẻ căn cước.",
    "{label}: the first three digits ({province}) are not a province code of birth registration. " +
    "Please check the number on the ID card."],
  cccd_birth_year: [
    "{label} không khớp với {other} ({value}): chữ số thứ 4 đến thứ 6 của số định danh " +
    "phải ứng với năm sinh. Vui lòng kiểm tra lại.",
    "{label} does not match {other} ({value}): digits 4 to 6 of the number encode " +
    "the year of birth. Please check both."],
  cccd_sex: [
    "{label} không khớp với {other} ({value}): chữ số thứ 4 của số định danh " +
    "ứng với giới tính. Vui lòng kiểm tra lại.",
    "{label} does not match {other} ({value}): digit 4 of the number encodes the sex. Please check both."],
  unknown_commune: ["{label}: không tìm thấy xã, phường đã chọn. Vui lòng chọn lại xã, phường.",
    "{label}: the commune or ward was not found. Please choose it again."],
  unknown_field: ["Mục “{name}” không có trong tờ khai này.", "“{name}” is not a field of this form."],
};
const COMMUNE_LABEL = { vi: "Xã, phường", en: "Commune or ward" };
const DETAIL_LABEL = { vi: "Số nhà, đường, thôn, xóm", en: "House number, street, hamlet" };
const SEX_VI = { male: "nam", female: "nữ" };

const EMPTY = Symbol("empty"); // absent, null, "", [] or an empty address
const own = (object, key) => (Object.hasOwn(object, key) ? object[key] : undefined);
const isObject = (value) => value !== null && typeof value === "object" && !Array.isArray(value);
const first64 = (key) => [...key].slice(0, 64).join(""); // Python str(key)[:64]

function error(path, code, message, params = {}) {
  const fill = (template, lang) => template.replace(/\{(\w+)\}/g, (_, key) =>
    (isObject(params[key]) ? params[key][lang] : String(params[key])));
  const [vi, en] = MESSAGES[message];
  return { path, code, message: { vi: fill(vi, "vi"), en: fill(en, "en") } };
}

function labelOf(field) {
  const label = field.label || {};
  const vi = label.vi || field.name || "";
  return { vi, en: label.en || vi };
}

// Python's repr of a float, as str() prints it in a message: 0.0001 but 1e-05.
function pythonFloat(x) {
  const [mantissa, exponent] = x.toExponential().split("e"); // shortest digits, as Python
  const sign = x < 0 ? "-" : "";
  const digits = mantissa.replace("-", "").replace(".", "");
  const point = Number(exponent) + 1;
  if (point > -4 && point <= 16) {
    if (point <= 0) return `${sign}0.${"0".repeat(-point)}${digits}`;
    if (point >= digits.length) return `${sign}${digits}${"0".repeat(point - digits.length)}.0`;
    return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
  }
  const e = point - 1;
  const lead = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
  return `${sign}${lead}e${e < 0 ? "-" : "+"}${String(Math.abs(e)).padStart(2, "0")}`;
}

function fmtNumber(value) {
  const text = Number.isInteger(value) ? BigInt(value).toString() : pythonFloat(value);
  return { vi: text.replaceAll(".", ","), en: text };
}

// dd/mm/yyyy as the server's strftime prints it (glibc does not pad a year below 1000).
function fmtDate(iso) {
  return { vi: `${iso.slice(8, 10)}/${iso.slice(5, 7)}/${Number(iso.slice(0, 4))}`, en: iso };
}

/** Today in Asia/Ho_Chi_Minh (UTC+7 all year, no daylight saving), as YYYY-MM-DD. */
export function todayInVietnam(now = new Date()) {
  return new Date(now.getTime() + 7 * 3600e3).toISOString().slice(0, 10);
}

// -- patterns: Python's re.fullmatch(pattern, text, re.ASCII) as a JavaScript RegExp ----------

const SPACES = "\\t\\n\\v\\f\\r "; // \s of re.ASCII; JavaScript's \s also takes U+00A0, U+2028, ...
const SYNTAX = "^$\\.*+?()[]{}|/";
const literal = (ch) => (SYNTAX.includes(ch) ? "\\" + ch : `\\u{${ch.codePointAt(0).toString(16)}}`);

// One escape after a backslash, with the index past it; null for \s and \S (set apart).
function escape(p, i, inClass) {
  const ch = String.fromCodePoint(p.codePointAt(i));
  if (ch === "U") return [`\\u{${p.slice(i + 1, i + 9)}}`, i + 9];
  if (ch === "a") return ["\\x07", i + 1];
  if (ch === "0") {
    const octal = p.slice(i, i + 3).match(/^[0-7]+/)[0];
    return [`\\u{${parseInt(octal, 8).toString(16)}}`, i + octal.length];
  }
  if (/[0-9A-Za-z]/.test(ch)) return [ch === "s" || ch === "S" ? null : "\\" + ch, i + 1];
  return [inClass && ch === "-" ? "\\-" : literal(ch), i + ch.length];
}

function translateClass(p, i) { // p[i] is just past "["
  let negated = false;
  if (p[i] === "^") { negated = true; i++; }
  let body = "";
  let nonSpace = false;
  let first = true;
  while (i < p.length && (p[i] !== "]" || first)) {
    first = false;
    if (p[i] === "\\") {
      const [out, next] = escape(p, i + 1, true);
      if (out === null) {
        if (p[i + 1] === "s") body += SPACES; else nonSpace = true;
      } else body += out;
      i = next;
    } else {
      const ch = String.fromCodePoint(p.codePointAt(i));
      body += ch === "]" || ch === "[" ? "\\" + ch : ch;
      i += ch.length;
    }
  }
  let out;
  if (!nonSpace) out = `[${negated ? "^" : ""}${body}]`;
  else if (negated) out = body ? `(?:(?![${body}])[${SPACES}])` : `[${SPACES}]`;
  else out = body ? `(?:[${body}]|[^${SPACES}])` : `[^${SPACES}]`;
  return [out, i + 1];
}

function translatePattern(p) {
  let out = "";
  let i = 0;
  while (i < p.length) {
    const ch = String.fromCodePoint(p.codePointAt(i));
    if (ch === "\\") {
      const [piece, next] = escape(p, i + 1, false);
      out += piece ?? (p[i + 1] === "s" ? `[${SPACES}]` : `[^${SPACES}]`);
      i = next;
    } else if (ch === "[") {
      const [piece, next] = translateClass(p, i + 1);
      out += piece;
      i = next;
    } else if (ch === "{") {
      const m = p.slice(i).match(/^\{(\d*)(,(\d*))?\}/); // Python: anything else is a literal "{"
      if (m && m[0] !== "{}") {
        out += `{${m[1] || "0"}${m[2] ? "," + m[3] : ""}}`;
        i += m[0].length;
      } else { out += "\\{"; i++; }
    } else {
      out += ch === "." ? "[^\\n]" : ch === "}" || ch === "]" ? "\\" + ch : ch;
      i += ch.length;
    }
  }
  return out;
}

const compiled = new Map();
function fullMatch(pattern, text) {
  if (!compiled.has(pattern)) compiled.set(pattern, new RegExp(`^(?:${translatePattern(pattern)})$`, "u"));
  return compiled.get(pattern).test(text);
}

// -- one check per type: (field, raw, ctx, at) -> [value or EMPTY, errors]; at = {path, label} ----

const fail = (value, at, code, message = code, extra = {}) =>
  [value, [error(at.path, code, message, { label: at.label, ...extra })]];
const blank = (raw) => raw == null || (typeof raw === "string" && !strip(raw));

function cleanString(raw, at, oneLine, limit) { // NFC, trimmed, length-limited text; EMPTY when nothing is left
  if (raw == null) return [EMPTY, []];
  if (typeof raw !== "string") return fail(EMPTY, at, "type", "type_text");
  // too long whatever NFC does: don't normalise megabytes
  if (raw.length > 4 * limit && codePoints(raw) > 4 * limit) return fail(EMPTY, at, "too_long", "too_long", { limit });
  const text = strip(nfc(raw.replace(/\r\n?/g, "\n")));
  if (!text) return [EMPTY, []];
  if (BAD_CHARS.test(text)) return fail(EMPTY, at, "type", "bad_char");
  if (oneLine && LINE_BREAK.test(text)) return fail(text, at, "type", "one_line");
  if (codePoints(text) > limit) return fail(text, at, "too_long", "too_long", { limit });
  return [text, []];
}

function checkText(field, raw, ctx, at) {
  const limit = Math.min(field.max_length ?? Infinity, LIMITS[field.type]);
  const [text, errors] = cleanString(raw, at, field.type === "text", limit);
  if (errors.length || text === EMPTY) return [text, errors];
  if (codePoints(text) < (field.min_length ?? 0)) return fail(text, at, "too_short", "too_short", { limit: field.min_length });
  if (field.pattern != null && !fullMatch(field.pattern, text)) {
    const custom = field.pattern_message;
    if (custom && custom.vi) return [text, [{ path: at.path, code: "pattern", message: { vi: custom.vi, en: custom.en || custom.vi } }]];
    return fail(text, at, "pattern");
  }
  return [text, []];
}

function checkNumber(field, raw, ctx, at) {
  if (blank(raw)) return [EMPTY, []];
  let number = raw;
  if (typeof raw === "string") {
    const text = strip(raw);
    if (codePoints(text) > LIMITS.number_string || !NUMBER_STRING_PATTERN.test(text)) return fail(EMPTY, at, "type", "type_number");
    number = Number(text);
  } else if (typeof raw !== "number" || !Number.isFinite(raw)) return fail(EMPTY, at, "type", "type_number");
  if (field.integer && !Number.isInteger(number)) return fail(number, at, "not_integer");
  for (const side of ["min", "max"]) {
    if (Object.hasOwn(field, side) && (side === "min" ? number < field.min : number > field.max)) {
      return fail(number, at, side, side, { limit: fmtNumber(field[side]) });
    }
  }
  return [number, []];
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
function parseDate(text) { // a real date YYYY-MM-DD (years 1-9999, as Python's date), or null
  if (!DATE_PATTERN.test(text)) return null;
  const [y, m, d] = text.split("-").map(Number);
  const days = m === 2 && y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0) ? 29 : DAYS_IN_MONTH[m - 1];
  return y >= 1 && m >= 1 && m <= 12 && d >= 1 && d <= days ? text : null;
}

function checkDate(field, raw, ctx, at) {
  if (blank(raw)) return [EMPTY, []];
  if (typeof raw !== "string") return fail(EMPTY, at, "type", "type_text");
  const day = parseDate(strip(raw));
  if (day === null) return fail(EMPTY, at, "invalid_date");
  for (const side of ["min", "max"]) {
    if (!Object.hasOwn(field, side)) continue;
    const bound = field[side] === "today" ? ctx.today : field[side]; // ISO dates compare as text
    if (side === "min" ? day < bound : day > bound) {
      if (field[side] === "today") return fail(day, at, side, `${side}_today`);
      return fail(day, at, side, `${side}_date`, { limit: fmtDate(bound) });
    }
  }
  return [day, []];
}

const optionValues = (field) => (field.options || []).map((option) => option.value);

function checkChoice(field, raw, ctx, at) {
  if (raw == null || raw === "") return [EMPTY, []];
  if (typeof raw !== "string") return fail(EMPTY, at, "type", "type_text");
  return optionValues(field).includes(raw) ? [raw, []] : fail(raw, at, "not_an_option");
}

function checkMultichoice(field, raw, ctx, at) {
  if (raw == null || (Array.isArray(raw) && !raw.length)) return [EMPTY, []];
  if (!Array.isArray(raw)) return fail(EMPTY, at, "type", "type_list");
  const options = optionValues(field);
  const isOption = (v) => typeof v === "string" && options.includes(v);
  if (raw.length > options.length) { // cannot be valid: some option repeats or is foreign
    return fail(EMPTY, at, raw.every(isOption) ? "duplicate" : "not_an_option");
  }
  if (!raw.every((v) => typeof v === "string")) return fail(EMPTY, at, "type", "type_list");
  const chosen = [...raw];
  if (!chosen.every(isOption)) return fail(chosen, at, "not_an_option");
  if (new Set(chosen).size !== chosen.length) return fail(chosen, at, "duplicate");
  if (chosen.length < (field.min_items ?? 0)) return fail(chosen, at, "too_few", "too_few", { limit: field.min_items });
  if (chosen.length > (field.max_items ?? Infinity)) return fail(chosen, at, "too_many", "too_many", { limit: field.max_items });
  return [chosen, []];
}

function checkPhone(field, raw, ctx, at) {
  if (blank(raw)) return [EMPTY, []];
  if (typeof raw !== "string") return fail(EMPTY, at, "type", "type_text");
  const phone = normalizePhone(raw);
  return phone === null ? fail(EMPTY, at, "invalid_phone") : [phone, []];
}

function checkCccd(field, raw, ctx, at) { // the number alone; birth date and sex are cccdCrossChecks
  if (blank(raw)) return [EMPTY, []];
  if (typeof raw !== "string") return fail(EMPTY, at, "type", "type_text");
  if (codePoints(raw) > 64) return fail(EMPTY, at, "invalid_cccd", "cccd_length");
  const number = splitWords(raw).join(""); // "001 0 90 012345" as printed on the card
  if (field.allow_cmnd && isCmnd(number)) return [number, []];
  const problems = cccdProblems(number);
  if (problems.includes("wrong_length") || problems.includes("not_digits")) {
    return fail(EMPTY, at, "invalid_cccd", field.allow_cmnd ? "cccd_or_cmnd_length" : "cccd_length");
  }
  if (problems.includes("unknown_province")) return fail(number, at, "invalid_cccd", "cccd_province", { province: number.slice(0, 3) });
  return [number, []];
}

// G and YY against the sibling date of birth and sex named in `checks`, when those are shown and
// valid: a wrong birth date is reported once, on the date. A 9-digit CMND encodes neither.
function cccdCrossChecks(field, values, visible, fieldErrors, at, labels) {
  const number = values.get(field.name);
  const checks = field.checks || {};
  if (codePoints(number) !== 12 || !Object.keys(checks).length) return [];
  const sibling = (key) => {
    const name = checks[key];
    return values.has(name) && visible.get(name) && !fieldErrors.get(name).length && values.get(name) !== EMPTY ? name : null;
  };
  const birth = sibling("birth_date");
  const sex = sibling("sex");
  const problems = cccdProblems(number, birth && values.get(birth), sex && values.get(sex));
  const errors = [];
  if (birth && (problems.includes("century_mismatch") || problems.includes("year_mismatch"))) {
    errors.push(...fail(0, at, "cccd_mismatch", "cccd_birth_year", { other: labels.get(birth), value: fmtDate(values.get(birth)) })[1]);
  }
  if (sex && problems.includes("sex_mismatch")) {
    const value = values.get(sex);
    errors.push(...fail(0, at, "cccd_mismatch", "cccd_sex", { other: labels.get(sex), value: { vi: SEX_VI[value], en: value } })[1]);
  }
  return errors;
}

function checkEmail(field, raw, ctx, at) {
  const [text, errors] = cleanString(raw, at, true, LIMITS.email);
  if (errors.length || text === EMPTY) return [text, errors];
  return EMAIL_PATTERN.test(text) ? [text, []] : fail(text, at, "invalid_email");
}

const unknownFields = (object, known, prefix) => Object.keys(object).filter((k) => !known.includes(k))
  .slice(0, LIMITS.unknown_reported).map((k) => error(prefix + first64(k), "unknown_field", "unknown_field", { name: first64(k) }));

function checkAddress(field, raw, ctx, at) {
  if (raw == null || raw === "" || (Array.isArray(raw) && !raw.length) || (isObject(raw) && !Object.keys(raw).length)) {
    return [EMPTY, []];
  }
  if (!isObject(raw)) return fail(EMPTY, at, "type", "type_object");
  const errors = unknownFields(raw, ["commune_code", "detail"], at.path + ".");
  const part = (key, name) => ({ path: `${at.path}.${key}`, label: { vi: `${name.vi} (${at.label.vi})`, en: `${name.en} (${at.label.en})` } });
  const communeAt = part("commune_code", COMMUNE_LABEL);
  const [commune, communeErrors] = cleanString(own(raw, "commune_code"), communeAt, true, 16);
  const [detail, detailErrors] = cleanString(own(raw, "detail"), part("detail", DETAIL_LABEL), true, LIMITS.detail);
  errors.push(...communeErrors, ...detailErrors);
  if (commune === EMPTY && detail === EMPTY && !errors.length) return [EMPTY, []];
  if (commune === EMPTY && !communeErrors.length) errors.push(...fail(0, communeAt, "required", "required_choice")[1]);
  else if (commune !== EMPTY && !communeErrors.length &&
    !(COMMUNE_CODE_PATTERN.test(commune) && (ctx.communeExists == null || ctx.communeExists(commune)))) {
    errors.push(error(communeAt.path, "unknown_commune", "unknown_commune", { label: at.label }));
  }
  const value = commune !== EMPTY ? { commune_code: commune } : {};
  if (detail !== EMPTY) value.detail = detail;
  return [value, errors];
}

function checkGroup(field, raw, ctx, at) {
  if (raw == null || (Array.isArray(raw) && !raw.length)) return [EMPTY, []];
  if (!Array.isArray(raw)) return fail(EMPTY, at, "type", "type_list");
  const most = field.max_items ?? LIMITS.group_items;
  if (raw.length > most) return fail(EMPTY, at, "too_many", "too_many", { limit: most }); // before reading any item
  const items = [];
  const errors = [];
  raw.forEach((entry, index) => {
    const path = `${at.path}[${index}]`;
    if (!isObject(entry)) {
      const label = { vi: `${at.label.vi}, mục ${index + 1}`, en: `${at.label.en}, entry ${index + 1}` };
      errors.push(error(path, "type", "type_object", { label }));
      return;
    }
    const [clean, itemErrors] = validateObject(field.fields, entry, ctx, path + ".", [at.label, index]);
    items.push(clean);
    errors.push(...itemErrors);
  });
  if (raw.length < (field.min_items ?? 0)) errors.push(error(at.path, "too_few", "too_few", { label: at.label, limit: field.min_items }));
  return [items, errors];
}

const CHECKS = {
  text: checkText, textarea: checkText, number: checkNumber, date: checkDate, choice: checkChoice,
  multichoice: checkMultichoice, phone: checkPhone, cccd: checkCccd, email: checkEmail,
  address: checkAddress, group: checkGroup,
};

// -- conditions (show_if) ------------------------------------------------------------------

// Python's ==, with True == 1 as there; _same() below keeps booleans apart at the top.
function pyEquals(a, b) {
  if (typeof a === "boolean" || typeof b === "boolean") a = typeof a === "boolean" ? Number(a) : a, b = typeof b === "boolean" ? Number(b) : b;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((v, i) => pyEquals(v, b[i]));
  }
  if (isObject(a) || isObject(b)) {
    if (!isObject(a) || !isObject(b)) return false;
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && pyEquals(a[k], b[k]));
  }
  return a === b;
}
const same = (a, b) => (typeof a === "boolean") === (typeof b === "boolean") && pyEquals(a, b);

function conditionHolds(condition, value) {
  if (Object.hasOwn(condition, "not_empty")) return (value !== EMPTY) === (condition.not_empty === true);
  if (value === EMPTY) return false;
  const chosen = Array.isArray(value) ? value : [value]; // multichoice: any chosen option
  if (Object.hasOwn(condition, "equals")) return chosen.some((v) => same(v, condition.equals));
  if (Object.hasOwn(condition, "in")) return chosen.some((v) => condition.in.some((w) => same(v, w)));
  return false;
}

// Which fields exist; a condition on a hidden field sees it as empty, so conditions chain.
function visibility(fields, values) {
  const byName = new Map(fields.map((f) => [f.name, f]));
  const visible = new Map();
  const resolve = (name, seen) => {
    if (visible.has(name)) return visible.get(name);
    const condition = byName.get(name).show_if;
    let result = true;
    if (condition != null) {
      const ref = condition.field;
      result = byName.has(ref) && !seen.has(ref) && conditionHolds(condition,
        resolve(ref, new Set([...seen, name])) ? values.get(ref) : EMPTY);
    }
    visible.set(name, result);
    return result;
  };
  for (const f of fields) resolve(f.name, new Set());
  return visible;
}

// -- validating data -----------------------------------------------------------------------

const REQUIRED = { choice: "required_choice", multichoice: "required_choice", group: "required_group" };

// One level: the top of the form, or one item of a group (item = [group label, index]).
function validateObject(fields, data, ctx, prefix, item) {
  const errors = unknownFields(data, fields.map((f) => f.name), prefix);
  const values = new Map();
  const fieldErrors = new Map();
  const labels = new Map();
  for (const field of fields) {
    let label = labelOf(field);
    if (item) {
      const [group, index] = item;
      label = { vi: `${label.vi} (${group.vi}, mục ${index + 1})`, en: `${label.en} (${group.en}, entry ${index + 1})` };
    }
    labels.set(field.name, label);
    const [value, problems] = CHECKS[field.type](field, own(data, field.name), ctx, { path: prefix + field.name, label });
    values.set(field.name, value);
    fieldErrors.set(field.name, problems);
  }
  const visible = visibility(fields, values);
  const clean = {};
  for (const field of fields) {
    const name = field.name;
    if (!visible.get(name)) continue; // hidden: never required, value dropped, its errors moot
    const at = { path: prefix + name, label: labels.get(name) };
    const value = values.get(name);
    let problems = fieldErrors.get(name);
    if (value === EMPTY && field.required && !problems.length) problems = fail(0, at, "required", REQUIRED[field.type])[1];
    if (!problems.length && field.type === "cccd" && value !== EMPTY) {
      problems = cccdCrossChecks(field, values, visible, fieldErrors, at, labels);
    }
    errors.push(...problems);
    if (!problems.length && value !== EMPTY) clean[name] = value;
  }
  return [clean, errors];
}

/**
 * Check data filed with a form (already accepted by the server's check_form_definition):
 * {clean, errors}, errors as the server sends them ({path, code, message: {vi, en}}).
 * communeExists(code) -> bool when the device has the list of communes; today is "YYYY-MM-DD".
 */
export function validate(form, data, { communeExists = null, today = null } = {}) {
  if (!isObject(data)) return { clean: {}, errors: [error("", "type", "type_form")] };
  const ctx = { communeExists, today: today || todayInVietnam() };
  const [clean, errors] = validateObject(form.fields || [], data, ctx, "", null);
  return { clean, errors };
}

/**
 * The paths of the fields that show, given show_if ("members[1].full_name" inside a group),
 * in form order: the renderer draws these and no others.
 */
export function visibleFields(form, data) {
  const ctx = { communeExists: null, today: todayInVietnam() };
  const paths = [];
  const walk = (fields, object, prefix) => {
    const values = new Map(fields.map((f) =>
      [f.name, CHECKS[f.type](f, own(object, f.name), ctx, { path: prefix + f.name, label: labelOf(f) })[0]]));
    const visible = visibility(fields, values);
    for (const field of fields) {
      if (!visible.get(field.name)) continue;
      paths.push(prefix + field.name);
      const raw = own(object, field.name);
      if (field.type === "group" && Array.isArray(raw)) {
        raw.forEach((entry, i) => isObject(entry) && walk(field.fields, entry, `${prefix}${field.name}[${i}].`));
      }
    }
  };
  walk(form.fields || [], isObject(data) ? data : {}, "");
  return paths;
}
