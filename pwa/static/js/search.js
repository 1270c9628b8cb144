// How catalog search orders what it finds, offline: the same rules as server/catalog/search.py (read its
// docstring), so that the app lists procedures in the order the server would. tests/test_search_js.py runs the
// shared cases of tests/data/search_cases.json through both. Pure functions, no I/O.
import { fold, splitWords, strip } from "./vietnamese.js";

const COMMON_PREFIX = "thu tuc "; // fold("Thủ tục "): most published names begin with it, or not, at random

export const baseName = (folded) => (folded.startsWith(COMMON_PREFIX) ? folded.slice(COMMON_PREFIX.length) : folded);

/** The folded query without a leading "thủ tục": the words every name found must contain. */
export const queryWords = (foldedQuery) => baseName(splitWords(foldedQuery).join(" "));

function codeMatches(query, code) {
  const text = strip(query).toLowerCase();
  return Boolean(text) && !text.includes(" ") && code.toLowerCase().startsWith(text);
}

/** The sort key [tier, length, base, code] of a procedure for a query, or null when it is not found. */
export function rank(foldedQuery, query, code, foldedName) {
  const wanted = queryWords(foldedQuery);
  if (!wanted) return [5, 0, foldedName, code];
  const words = wanted.split(" ");
  const base = baseName(foldedName);
  const lowered = strip(query).toLowerCase();
  let tier;
  if (lowered && lowered === code.toLowerCase()) tier = 0;
  else if (words.every((w) => foldedName.includes(w))) {
    if (base === wanted) tier = 1;
    else if (base.startsWith(wanted)) tier = 2;
    else if ((" " + base).includes(" " + wanted)) tier = 3;
    else if (codeMatches(query, code)) tier = 4;
    else tier = 5;
  } else if (codeMatches(query, code)) tier = 4;
  else return null;
  return [tier, [...base].length, base, code];
}

// Python compares strings by code point; JavaScript's < by UTF-16 unit, which differs only past U+FFFF.
function compareText(a, b) {
  if (a === b) return 0;
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    if (x[i] !== y[i]) return x[i].codePointAt(0) - y[i].codePointAt(0);
  }
  return x.length - y.length;
}

function compareKeys(a, b) {
  return a[0] - b[0] || a[1] - b[1] || compareText(a[2], b[2]) || compareText(a[3], b[3]);
}

/**
 * The procedures found for `query`, best first; `field` (exactly as listed) filters. Each procedure needs code and
 * name; its folded name is taken from `folded` when stored (catalog.js keeps it), else computed.
 */
export function search(procedures, query, { field = "" } = {}) {
  const folded = fold(query);
  const found = [];
  for (const p of procedures) {
    if (field && p.field !== field) continue;
    const key = rank(folded, query, p.code, p.folded ?? fold(p.name));
    if (key) found.push([key, p]);
  }
  found.sort((a, b) => compareKeys(a[0], b[0]));
  return found.map(([, p]) => p);
}
