// The catalog index as the server packs it for the wire (server/catalog/packed.py, whose docstring gives the
// layout): a JSON header line, then the field names and procedure names one byte a letter. Pure functions.

const BASE_VOWELS = "aăâeêioôơuưyAĂÂEÊIOÔƠUƯY";
const TONE_MARKS = ["", "\u0300", "\u0301", "\u0309", "\u0303", "\u0323"]; // none, huyền, sắc, hỏi, ngã, nặng

/** The accented Vietnamese letters in the server's order (packed.py vietnamese_letters). */
export const LETTERS = [...[...BASE_VOWELS].flatMap((base) => TONE_MARKS.map((tone) => (base + tone).normalize("NFC")))
  .filter((letter) => letter.codePointAt(0) >= 128), "đ", "Đ"];

const PUNCTUATION = "…–—“”‘’"; // packed.py PUNCTUATION

// Printable ASCII as is; the letters, then the signs, at 0x80–0xFF, then 0x01–0x09, 0x0B… (packed.py FREE_BYTES).
const FREE_BYTES = [...Array.from({ length: 128 }, (_, i) => 0x80 + i), ...Array.from({ length: 31 }, (_, i) => 0x01 + i).filter((b) => b !== 0x0a)];
const CHAR_OF = Array.from({ length: 256 }, (_, b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : "\uFFFD"));
[...LETTERS, ...PUNCTUATION].forEach((char, i) => { CHAR_OF[FREE_BYTES[i]] = char; });

// A line's first letter travels lowered (packed.py capitalised): ASCII, or a Vietnamese letter whose capital is one.
const UPPER_OF = new Map([..."abcdefghijklmnopqrstuvwxyz"].map((c) => [c, c.toUpperCase()]));
for (const letter of LETTERS) if (letter.toLowerCase() !== letter && LETTERS.includes(letter.toLowerCase())) UPPER_OF.set(letter.toLowerCase(), letter);

function unpackText(bytes) {
  let text = "";
  for (const b of bytes) text += CHAR_OF[b];
  return text;
}

/** The procedures of a packed index (an ArrayBuffer): code, name, field, version, on_the_spot, in its order. */
export function unpackIndex(buffer) {
  const bytes = new Uint8Array(buffer);
  const cut = bytes.indexOf(10);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(0, cut)));
  // National codes as differences from the one before (1.001193 is 1001193), then the others as they are.
  const codes = [];
  let number = 0;
  for (const difference of header.c.split(",").filter(Boolean)) {
    number += Number(difference);
    codes.push(`${Math.floor(number / 1e6)}.${String(number % 1e6).padStart(6, "0")}`);
  }
  codes.push(...(header.o || "").split(",").filter(Boolean));
  const kinds = header.k || bytes.subarray(cut + 1, cut + 1 + codes.length);
  const lines = [];
  if (codes.length) {
    let start = cut + 1 + (header.k ? 0 : codes.length);
    for (let i = start; i <= bytes.length; i++) {
      if (i === bytes.length || bytes[i] === 10) { lines.push(unpackText(bytes.subarray(start, i))); start = i + 1; }
    }
  }
  const written = new Set(header.u || []);
  lines.forEach((line, i) => { if (line && !written.has(i)) lines[i] = UPPER_OF.get(line[0]) + line.slice(1); });
  for (const [line, text] of Object.entries(header.x || {})) lines[Number(line)] = text;
  const fields = lines.slice(0, header.f);
  const onTheSpot = new Set(header.s || []);
  return codes.map((code, i) => ({
    code, name: lines[header.f + i], field: fields[kinds[i]], version: (header.v || {})[i] ?? 1, on_the_spot: onTheSpot.has(i),
  }));
}
