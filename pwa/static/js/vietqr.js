// The VietQR text (NAPAS 247 transfer to an account, EMVCo merchant-presented mode) built on the device, so a code
// can be shown with no connection (docs/payments.md "VietQR"). The same builder as server/payments/vietqr.py: the
// two must agree byte for byte (tests/data/vietqr_cases.json, tests/test_vietqr_js.py).

const GUID = "A000000727"; // NAPAS's application identifier in the consumer account information (ID 38)
const SERVICE = "QRIBFTTA"; // inter-bank fund transfer 24/7 to an account
const MAX_PURPOSE = 25; // ID 62/08 "purpose of transaction": up to 25 characters

/** CRC-16/CCITT-FALSE (polynomial 0x1021, initial 0xFFFF) of an ASCII text, as 4 upper-case hex digits. */
export function crc16(text) {
  let crc = 0xffff;
  for (const byte of new TextEncoder().encode(text)) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc.toString(16).toUpperCase().padStart(4, "0");
}

function tlv(tag, value) {
  if (value.length > 99) throw new RangeError(`data object ${tag} is longer than 99 characters`);
  return `${tag}${String(value.length).padStart(2, "0")}${value}`;
}

/** A note banks carry intact: ASCII letters, digits, spaces, dots, hyphens (diacritics dropped, đ → d). */
export function plainNote(text) {
  const ascii = String(text).replace(/đ/g, "d").replace(/Đ/g, "D").normalize("NFKD").replace(/[^ -~]/g, ""); // (controls go next anyway)
  return ascii.replace(/[^0-9A-Za-z .-]/g, "").trim().slice(0, MAX_PURPOSE);
}

/** The dynamic VietQR text for `amountVnd` đồng to `account` ({bank_bin, number}), note `note`. */
export function vietqrPayload(account, amountVnd, note) {
  if (!/^\d{6}$/.test(account.bank_bin || "") || !/^[0-9A-Za-z]{1,19}$/.test(account.number || "")) {
    throw new RangeError("bank BIN must be 6 digits and the account number 1–19 letters or digits");
  }
  if (!Number.isInteger(amountVnd) || amountVnd <= 0 || amountVnd >= 1e13) {
    throw new RangeError("amount must be a positive whole number of đồng");
  }
  const beneficiary = tlv("00", account.bank_bin) + tlv("01", account.number);
  const consumer = tlv("00", GUID) + tlv("01", beneficiary) + tlv("02", SERVICE);
  const text = tlv("00", "01") + tlv("01", "12") + tlv("38", consumer) + tlv("53", "704")
    + tlv("54", String(amountVnd)) + tlv("58", "VN") + tlv("62", tlv("08", plainNote(note))) + "6304";
  return text + crc16(text);
}

/** The transfer note carrying a dossier code within 25 characters (server/payments/obligation.py transfer_note). */
export function transferNote(code) {
  return code.length <= 25 ? code : [...code].filter((ch) => /[\p{L}\p{N}]/u.test(ch)).join("").slice(0, 25);
}
