// Vietnamese data in the browser: the same rules as server/vietnamese.py, so that a
// citizen offline sees what the server would say. Pure functions, no I/O.

// Python's str.isspace(): what str.strip() and str.split() remove. Not JavaScript's
// trim(), which keeps U+001C–U+001F and U+0085 and removes U+FEFF.
const SPACE = "\t\n\v\f\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005" +
  "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000";

export function isSpace(ch) {
  return ch.length === 1 && SPACE.includes(ch);
}

/** Python's text.strip(). */
export function strip(text) {
  let start = 0;
  let end = text.length;
  while (start < end && isSpace(text[start])) start++;
  while (end > start && isSpace(text[end - 1])) end--;
  return text.slice(start, end);
}

/** Python's text.split(): the words between runs of whitespace. */
export function splitWords(text) {
  const words = [];
  let word = "";
  for (const ch of text) {
    if (isSpace(ch)) {
      if (word) words.push(word);
      word = "";
    } else {
      word += ch;
    }
  }
  if (word) words.push(word);
  return words;
}

/** Length in code points, as Python's len(): an emoji counts once. */
export function codePoints(text) {
  return [...text].length;
}

/** Unicode NFC: the one form in which names and text are stored. */
export function nfc(text) {
  return text.normalize("NFC");
}

// unicodedata.combining(ch) != 0, without shipping the table: canonical ordering moves a
// mark of class > 0 past U+0334 (class 1) or U+0345 (class 240, the highest) and never one of class 0.
function isCombining(ch) {
  if (!/\p{M}/u.test(ch)) return false; // every character of class > 0 is a mark
  return (ch + "\u0334").normalize("NFD") !== ch + "\u0334" ||
    ("\u0345" + ch).normalize("NFD") !== "\u0345" + ch;
}

/** The search key (khóa tìm kiếm): "Đăng ký khai sinh" -> "dang ky khai sinh". */
export function fold(text) {
  const decomposed = nfc(text).toLowerCase().normalize("NFD");
  let bare = "";
  for (const ch of decomposed) if (!isCombining(ch)) bare += ch;
  // đ is a letter of its own, not d with a mark: NFD leaves it alone.
  bare = bare.replaceAll("đ", "d").replaceAll("Đ", "d");
  return splitWords(bare).join(" ");
}

// -- mobile numbers (số điện thoại di động) ----------------------------------

const PHONE_SEPARATORS = /[ .\-\t\u00a0]/g;
const MOBILE = /^(?:\+?84|0)([35789][0-9]{8})$/;
const PHONE_MAX_INPUT = 32; // longer input cannot be a phone number, whatever the separators

/** A Vietnamese mobile number as "0xxxxxxxxx", or null when it is not one. */
export function normalizePhone(text) {
  if (typeof text !== "string" || codePoints(text) > PHONE_MAX_INPUT) return null;
  const match = MOBILE.exec(strip(text).replace(PHONE_SEPARATORS, ""));
  return match ? "0" + match[1] : null;
}

// -- personal identification number (số định danh cá nhân / CCCD) -------------

// Province where the birth was registered: the 63 units before 2025 (Circular 07/2016/TT-BCA
// Appendix I). The number is for life: the 34 provinces of 2025 never apply here.
export const PROVINCE_CODES_BEFORE_2025 = Object.freeze({
  "001": "Hà Nội", "002": "Hà Giang", "004": "Cao Bằng", "006": "Bắc Kạn", "008": "Tuyên Quang",
  "010": "Lào Cai", "011": "Điện Biên", "012": "Lai Châu", "014": "Sơn La", "015": "Yên Bái",
  "017": "Hòa Bình", "019": "Thái Nguyên", "020": "Lạng Sơn", "022": "Quảng Ninh", "024": "Bắc Giang",
  "025": "Phú Thọ", "026": "Vĩnh Phúc", "027": "Bắc Ninh", "030": "Hải Dương", "031": "Hải Phòng",
  "033": "Hưng Yên", "034": "Thái Bình", "035": "Hà Nam", "036": "Nam Định", "037": "Ninh Bình",
  "038": "Thanh Hóa", "040": "Nghệ An", "042": "Hà Tĩnh", "044": "Quảng Bình", "045": "Quảng Trị",
  "046": "Thừa Thiên Huế", "048": "Đà Nẵng", "049": "Quảng Nam", "051": "Quảng Ngãi", "052": "Bình Định",
  "054": "Phú Yên", "056": "Khánh Hòa", "058": "Ninh Thuận", "060": "Bình Thuận", "062": "Kon Tum",
  "064": "Gia Lai", "066": "Đắk Lắk", "067": "Đắk Nông", "068": "Lâm Đồng", "070": "Bình Phước",
  "072": "Tây Ninh", "074": "Bình Dương", "075": "Đồng Nai", "077": "Bà Rịa - Vũng Tàu", "079": "Hồ Chí Minh",
  "080": "Long An", "082": "Tiền Giang", "083": "Bến Tre", "084": "Trà Vinh", "086": "Vĩnh Long",
  "087": "Đồng Tháp", "089": "An Giang", "091": "Kiên Giang", "092": "Cần Thơ", "093": "Hậu Giang",
  "094": "Sóc Trăng", "095": "Bạc Liêu", "096": "Cà Mau",
});

const DIGITS = /^[0-9]+$/;
const FIRST_CENTURY = 1900; // G = 0/1: 1900-1999, 2/3: 2000-2099, ... 8/9: 2300-2399

/**
 * Problems with a 12-digit number PPP G YY NNNNNN; empty when it is valid.
 * birthDate ("YYYY-MM-DD") and sex ("male" / "female"), when given, are compared with G and YY.
 */
export function cccdProblems(number, birthDate = null, sex = null) {
  if (codePoints(number) !== 12) return ["wrong_length"];
  if (!DIGITS.test(number)) return ["not_digits"];
  const problems = [];
  if (!Object.hasOwn(PROVINCE_CODES_BEFORE_2025, number.slice(0, 3))) problems.push("unknown_province");
  const g = Number(number[3]);
  const yy = Number(number.slice(4, 6));
  if (birthDate) {
    const year = Number(birthDate.slice(0, 4));
    if (FIRST_CENTURY + Math.floor(g / 2) * 100 !== Math.floor(year / 100) * 100) problems.push("century_mismatch");
    if (yy !== year % 100) problems.push("year_mismatch");
  }
  if ((sex === "male" || sex === "female") && (g % 2 === 0 ? "male" : "female") !== sex) {
    problems.push("sex_mismatch");
  }
  return problems;
}

/** An old identity card number (chứng minh nhân dân): 9 digits, still in records. */
export function isCmnd(number) {
  return typeof number === "string" && codePoints(number) === 9 && DIGITS.test(number);
}
