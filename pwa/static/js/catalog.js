// The catalog (procedures, their forms) and the administrative units, fetched while online and kept in IndexedDB
// so that a procedure once opened can be drafted offline (docs/pwa.md "Data on the phone").
import { meta, read, readAll, tx } from "./db.js";
import { unpackIndex } from "./packed.js";
import { fold } from "./vietnamese.js";

export async function fetchJson(url) {
  const response = await fetch(url, { credentials: "same-origin" });
  if (!response.ok) throw new Error(`${url}: ${response.status}`);
  return response.json();
}

export const INDEX_URL = "/api/procedures?limit=1000&view=packed";
const FORMS_PER_REQUEST = 100; // the server's maximum (GET /api/procedures/forms): ~2.5 KB of codes in the URL

// The catalog list (and the units): the person can search as soon as it is stored. The index comes packed
// (packed.js, server/catalog/packed.py): names one byte a letter, ~7 % fewer bytes after Brotli. A procedure's form is fetched
// when it is opened (formFor) and kept; the whole set on a phone that prefetches (prefetchesAllForms).
export async function refreshCatalog({ onIndex = () => {} } = {}) {
  try {
    const response = await fetch(INDEX_URL, { credentials: "same-origin" });
    if (!response.ok) throw new Error(`${INDEX_URL}: ${response.status}`);
    const items = unpackIndex(await response.arrayBuffer());
    await tx(["procedures"], "readwrite", async (s) => {
      await s.procedures.clear();
      // The folded name, for search.js (diacritics and case ignored: "dang ky" finds "Đăng ký").
      for (const p of items) await s.procedures.put({ ...p, folded: fold(p.name) });
    });
    await onIndex();
    // Communes for addresses; provinces (and districts, where a date still has them) for the receiving office.
    const communeList = await fetchJson("/api/units?level=commune&limit=1000");
    const upper = await fetchJson("/api/units?level=province,district&limit=1000");
    await tx(["units"], "readwrite", async (s) => {
      await s.units.clear();
      for (const u of [...communeList.items, ...upper.items]) {
        await s.units.put({ code: u.code, name: u.name, level: u.level, parent: u.parent, key: fold(`${u.name} ${u.code}`) });
      }
    });
    await refreshForms(items, { all: await prefetchesAllForms() });
  } catch (error) {
    // Offline or the server is away: the cached catalog stays; the sync indicator says why.
  }
}

/**
 * Whether this phone downloads every form in advance, so that any procedure of the catalog can be filed offline
 * after the first visit: an intake officer's (field intake works offline for any procedure), or one on a link the
 * browser does not mark as metered, saving data or slow (unmeteredOrUnknown). The cost is bounded: the forms come
 * 100 per compressed answer, ~38 KB for the shipped commune catalog of 260 procedures, and later only those whose
 * version changed (docs/benchmarks.md "Catalog").
 */
export async function prefetchesAllForms(connection = navigator.connection) {
  const saved = await meta("session");
  if (saved && saved.user && saved.user.role === "intake") return true;
  return unmeteredOrUnknown(connection);
}

/**
 * navigator.connection (Chromium on Android and ChromeOS says the link's type; desktop Chromium only how fast it is;
 * Safari and Firefox nothing): Wi-Fi, Ethernet or a link it does not name, unless save-data is on or it is slower
 * than "4g". A phone the browser says is on mobile data (cellular, bluetooth, wimax) fetches each form when its
 * procedure is opened.
 */
export function unmeteredOrUnknown(connection) {
  if (!connection) return true;
  if (connection.saveData) return false;
  if (connection.effectiveType && connection.effectiveType !== "4g") return false;
  return !["cellular", "bluetooth", "wimax"].includes(connection.type);
}

/**
 * The forms to fetch, many per request (one compressed answer instead of a request each): those on the phone
 * whose version changed and, with `all`, every procedure's not on the phone yet.
 */
export async function refreshForms(items, { all = false } = {}) {
  const have = new Map((await readAll("details")).map((d) => [d.code, d.version]));
  const stale = items.filter((p) => (all || have.has(p.code)) && have.get(p.code) !== p.version).map((p) => p.code);
  for (let i = 0; i < stale.length; i += FORMS_PER_REQUEST) {
    const codes = stale.slice(i, i + FORMS_PER_REQUEST).map(encodeURIComponent).join(",");
    const { items: details } = await fetchJson(`/api/procedures/forms?codes=${codes}`);
    await tx(["details"], "readwrite", async (s) => { for (const detail of details) await s.details.put(detail); });
  }
}

/** Every form, for an intake officer's phone (officer.js, after a sync round online); false when offline. */
export async function prefetchAllForms() {
  try {
    await refreshForms(await readAll("procedures"), { all: true });
    return true;
  } catch (error) {
    return false;
  }
}

/** A procedure with its form: from the phone, else fetched (online) and kept for offline; null when neither. */
export async function formFor(code) {
  const stored = await read("details", code);
  if (stored) return stored;
  try {
    const detail = await fetchJson(`/api/procedures/${encodeURIComponent(code)}`);
    await tx(["details"], "readwrite", (s) => s.details.put(detail));
    return detail;
  } catch (error) {
    return null;
  }
}

const byName = (a, b) => a.name.localeCompare(b.name, "vi");

export async function communes() {
  // Units stored before levels were kept are communes (the app asked for communes only).
  return (await readAll("units")).filter((u) => !u.level || u.level === "commune").sort(byName);
}

/**
 * The offices that may receive a procedure: the units of its level (a province-level procedure goes to the
 * province, a commune-level one to a commune); communes when this phone has no unit of that level.
 */
export async function receivingOffices(level) {
  const units = await readAll("units");
  const ofLevel = units.filter((u) => (u.level || "commune") === (level || "commune")).sort(byName);
  return { offices: ofLevel.length ? ofLevel : units.filter((u) => !u.level || u.level === "commune").sort(byName), units };
}

/** The unit of `level` that contains the commune `code` (the commune itself at commune level). */
export function officeFor(code, level, units) {
  const byCode = new Map(units.map((u) => [u.code, u]));
  for (let unit = byCode.get(code); unit; unit = byCode.get(unit.parent)) {
    if ((unit.level || "commune") === (level || "commune")) return unit.code;
  }
  return "";
}
