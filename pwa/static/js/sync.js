// The sync client (docs/sync.md §7): one request in flight, push the outbox and pull in one round trip,
// apply the answer in one IndexedDB transaction, retry with backoff when nothing is known.
// It runs in the page and in the service worker (Background Sync, with no page open): nothing here touches the
// DOM, and a Web Lock keeps the two from running rounds at the same time.
import { canonical, tx } from "./db.js";
import { deviceId, FORM_PREFIX, newDevice } from "./outbox.js";

const MAX_BATCH = 500;
const MAX_BYTES = 900 * 1024; // under the server's 1 MiB, with room for the envelope
const TIMEOUT_MS = 60_000;
const FIRST_RETRY_MS = 1_000;
const MAX_RETRY_MS = 4 * 60_000; // capped at a few minutes: a phone back in range should not wait long
const FINAL = new Set(["applied", "merged", "conflict", "rejected", "lost"]);
export const BACKGROUND_SYNC_TAG = "motcua-outbox";

/** What the indicator shows; `status` fires on `events` whenever it changes. */
export const status = { reachable: null, signedIn: null, running: false, lastSuccess: null, lastError: null,
  nextRetryAt: null, user: null };
export const events = new EventTarget();
let inFlight = null;
let again = false;
let failures = 0;
let timer = null;

function report(patch) {
  Object.assign(status, patch);
  events.dispatchEvent(new Event("status"));
}

const message = (vi, en) => ({ vi, en });

// One run at a time across the page and the service worker (each has its own copy of this module).
function exclusive(work) {
  const locks = typeof navigator !== "undefined" && navigator.locks;
  return locks ? locks.request("motcua-sync", work) : work();
}

/**
 * Ask for a round now (app open, online event, "Gửi ngay", a new change); rounds never overlap. Resolves with
 * the outcome: "ok", "retry" (the network or the server failed; a retry is scheduled) or "stop".
 */
export function requestSync() {
  if (inFlight) { again = true; return inFlight; }
  clearTimeout(timer);
  inFlight = exclusive(run).finally(() => {
    inFlight = null;
    if (again) { again = false; requestSync(); }
  });
  return inFlight;
}

function retryLater() {
  failures += 1;
  const delay = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** (failures - 1)) * (0.75 + Math.random() / 2);
  clearTimeout(timer);
  timer = setTimeout(requestSync, delay);
  report({ nextRetryAt: Date.now() + delay });
  askBackgroundSync();
}

// Where the browser has Background Sync, it wakes the service worker when the network returns, even with the
// app closed (sw.js runs drainOutbox). From a page only: the worker's own failures are retried by the browser.
function askBackgroundSync() {
  if (typeof window === "undefined" || !navigator.serviceWorker) return;
  navigator.serviceWorker.ready.then((r) => r.sync && r.sync.register(BACKGROUND_SYNC_TAG)).catch(() => {});
}

/**
 * Background Sync (sw.js): send the outbox and pull, with no page open. Rejects when the round could not reach
 * the server, so that the browser fires the event again later; its timer would die with the worker anyway.
 */
export async function drainOutbox() {
  const outcome = await requestSync();
  clearTimeout(timer);
  if (outcome === "retry") throw new Error("background sync: " + ((status.lastError && status.lastError.en) || "retry"));
  return outcome;
}

/** After the network comes back, do not wait for the backoff. */
export function resetBackoff() { failures = 0; }

async function request(url, options = {}) {
  const abort = new AbortController();
  const clock = setTimeout(() => abort.abort(), TIMEOUT_MS);
  try {
    return await fetch(url, { credentials: "same-origin", cache: "no-store", ...options, signal: abort.signal });
  } finally {
    clearTimeout(clock);
  }
}

/**
 * Who is signed in and the CSRF token, asked of the server. The answer is kept (meta "session") so that a sync
 * run is one request: /api/session is asked again only when /api/sync says the kept one no longer holds.
 */
export async function session() {
  const response = await request("/api/session");
  if (!response.ok) throw Object.assign(new Error("session " + response.status), { http: response.status });
  const answer = await response.json();
  await tx(["meta"], "readwrite", (s) => (answer.user
    ? s.meta.put({ user: answer.user, csrf_token: answer.csrf_token }, "session") : s.meta.delete("session")));
  return answer;
}

async function keptSession() {
  return tx(["meta"], "readonly", (s) => s.meta.get("session"));
}

/**
 * The CSRF token for a write that follows a sync round (uploads, an officer's code blocks): the kept session's,
 * so that nothing asks /api/session after every round; asked of the server only when none is kept. A refusal
 * (401/403) of that write waits for the next sync round, which asks again when the kept session no longer holds.
 */
export async function csrfToken() {
  const kept = await keptSession();
  return kept && kept.csrf_token ? kept.csrf_token : (await session()).csrf_token;
}

/**
 * Who was signed in when the server last said so, before any request: after a reload with no network the app
 * still knows its account (the header, the notices, the officers' screens). It holds until the person signs out
 * (which deletes it) or the server refuses the session (signedOut below).
 */
export async function restoreSession() {
  const kept = await keptSession();
  if (kept && kept.user && !status.user && status.signedIn !== false) report({ signedIn: true, user: kept.user });
  return kept || null;
}

// Below this gzip's header and trailer make a JSON body bigger, not smaller (the server uses the same bound).
const MIN_COMPRESS_BYTES = 256;

/** The body to send: gzip-compressed when that is smaller, else the plain text (null: send it plain). */
async function gzipped(text) {
  const plain = new TextEncoder().encode(text);
  if (typeof CompressionStream === "undefined" || plain.length < MIN_COMPRESS_BYTES) return null;
  const stream = new Blob([plain]).stream().pipeThrough(new CompressionStream("gzip"));
  const packed = new Uint8Array(await new Response(stream).arrayBuffer());
  return packed.length < plain.length ? packed : null;
}

async function run() {
  report({ running: true });
  try {
    // navigator.onLine is trusted only when it says "offline": then nothing is tried, so the outbox's unsent
    // mutations stay editable (§7.3) instead of being marked as possibly sent by a request that cannot leave.
    if (typeof navigator !== "undefined" && navigator.onLine === false) {
      report({ reachable: false });
      retryLater();
      return "retry";
    }
    let answer = await keptSession();
    let fresh = !answer;
    if (fresh) {
      try {
        answer = await session();
      } catch (error) {
        report({ reachable: false, lastError: message("Không kết nối được máy chủ — sẽ thử lại.",
          "Cannot reach the server — will retry.") });
        retryLater();
        return "retry";
      }
      report({ reachable: true });
    }
    report({ signedIn: Boolean(answer.user), user: answer.user });
    if (!answer.user) return "stop";
    if (!(await bindAccount(answer.user))) return "stop";
    for (let round = 0; round < 20; round++) {
      const outcome = await oneRound(answer.csrf_token);
      if (outcome === "expired" && !fresh) {
        // The kept session no longer holds (signed out elsewhere, expired): ask once who is signed in now.
        fresh = true;
        try { answer = await session(); } catch (error) { retryLater(); return "retry"; }
        report({ signedIn: Boolean(answer.user), user: answer.user });
        if (!answer.user || !(await bindAccount(answer.user))) return signedOut();
        continue;
      }
      if (outcome === "expired") return signedOut();
      if (outcome === "retry") { retryLater(); return "retry"; }
      if (outcome === "stop") return "stop";
      if (outcome === "done") break;
    }
    report({ reachable: true });
    failures = 0;
    report({ lastSuccess: Date.now(), lastError: null, nextRetryAt: null });
    await tx(["meta"], "readwrite", (s) => s.meta.put(Date.now(), "last_success"));
    return "ok";
  } finally {
    report({ running: false });
  }
}

// A device id belongs to one account (§2). Another account on this phone starts a new device, once nothing of
// the previous one waits to be sent.
async function bindAccount(user) {
  const ok = await tx(["meta", "outbox", "dossiers", "conflicts", "attachments"], "readwrite", async (s) => {
    const owner = await s.meta.get("user_id");
    if (owner === undefined || owner === null) { await s.meta.put(user.id, "user_id"); return true; }
    if (owner === user.id) return true;
    if (await s.outbox.count()) return false;
    await s.dossiers.clear();
    await s.conflicts.clear();
    await s.attachments.clear();
    for (const key of ["cursor", "lost", "seq"]) await s.meta.delete(key);
    await newDevice(s);
    await s.meta.put(user.id, "user_id");
    return true;
  });
  if (!ok) {
    report({ lastError: message("Máy này còn thay đổi chưa gửi của một tài khoản khác. Hãy đăng nhập lại tài khoản đó.",
      "This phone holds unsent changes of another account. Sign in with that account again.") });
  }
  return ok;
}

// The dossiers with pages not registered on the server yet (still "local" on this phone). upload.js (the page's
// uploader) sets its own; the service worker's background sync, which has no uploader, reads the pages' database
// itself: when the phone comes back online it fires first, and a submit it sent before the pages would be refused
// ("Chưa đính kèm giấy tờ bắt buộc") and turn the dossier back into a draft. It holds the submit instead; the app,
// once open, registers the pages and sends it.
let unregisteredPages = localPageDossiers;
export function holdSubmitsFor(find) { unregisteredPages = find; }

/** The same database and schema as attachments.js (which the worker does not import: it draws pages). */
function localPageDossiers() {
  return new Promise((resolve) => {
    const request = indexedDB.open("motcua-pages", 1);
    request.onupgradeneeded = () => {
      request.result.createObjectStore("pages", { keyPath: "id" }).createIndex("dossier_id", "dossier_id");
    };
    request.onerror = () => resolve(new Set());
    request.onsuccess = () => {
      const db = request.result;
      const all = db.transaction(["pages"], "readonly").objectStore("pages").getAll();
      all.onsuccess = () => {
        db.close();
        resolve(new Set(all.result.filter((p) => p.status === "local").map((p) => p.dossier_id)));
      };
      all.onerror = () => { db.close(); resolve(new Set()); };
    };
  });
}

async function oneRound(csrf) {
  // A submit waits while its dossier has pages not registered on the server yet (still only on this phone): the
  // server counts the pages of each required document at submit, and a registered page counts even before its
  // bytes arrive (docs/catalog.md). upload.js registers them once the create has gone, then asks for a sync.
  const unregistered = await unregisteredPages();
  const held = new Set();
  const { body, sentIds } = await tx(["meta", "outbox"], "readwrite", async (s) => {
    const outbox = (await s.outbox.all()).sort((a, b) => a.seq - b.seq);
    const mutations = [];
    let bytes = 0;
    for (const [index, m] of outbox.slice(0, MAX_BATCH).entries()) {
      if (m.op === "command" && m.command === "submit" && unregistered.has(m.entity_id)) {
        for (const later of outbox.slice(index)) held.add(later.mutation_id); // and what follows it, in order
        break;
      }
      const wire = wireForm(m);
      bytes += JSON.stringify(wire).length * 3;
      if (mutations.length && bytes > MAX_BYTES) break;
      mutations.push(wire);
      // From now on this mutation may have reached the server: it is never edited again (§7.3).
      if (!m.sent) { m.sent = true; await s.outbox.put(m); }
    }
    return {
      body: { device_id: await deviceId(s), cursor: (await s.meta.get("cursor")) || null,
        // own: our sequential edits come back as a version only; we apply them ourselves (§5.1).
        limit: 200, lost: (await s.meta.get("lost")) || [], mutations, own: "version" },
      sentIds: new Set(mutations.map((m) => m.mutation_id)),
    };
  });
  const text = JSON.stringify(body);
  const compressed = await gzipped(text);
  const headers = { "Content-Type": "application/json", "X-CSRF-Token": csrf };
  if (compressed) headers["Content-Encoding"] = "gzip";
  let response;
  try {
    response = await request("/api/sync", { method: "POST", headers, body: compressed || text });
  } catch (error) {
    report({ reachable: false, lastError: message("Mất kết nối khi đang gửi — sẽ gửi lại, không bị trùng.",
      "The connection dropped while sending — it will be sent again, never twice.") });
    return "retry";
  }
  // Any answer means the server is reachable: the offline banner goes, and a refusal below is shown (app.js hides
  // network errors while the banner says the phone is offline).
  if (status.reachable !== true) report({ reachable: true });
  if (response.status >= 500 || response.status === 429) {
    report({ lastError: message(`Máy chủ đang bận (mã ${response.status}) — sẽ thử lại.`,
      `The server is busy (code ${response.status}) — will retry.`) });
    return "retry";
  }
  let payload;
  try {
    payload = await response.json();
  } catch (error) {
    report({ lastError: message("Câu trả lời của máy chủ bị cắt — sẽ thử lại.", "The answer was cut off — will retry.") });
    return "retry";
  }
  if (!response.ok) return refused(response.status, payload);
  const more = await applyResponse(payload, sentIds, held);
  return more ? "again" : "done";
}

// Only the protocol's keys travel; `sent` and `created_at` are the device's own bookkeeping.
function wireForm(m) {
  const wire = { mutation_id: m.mutation_id, seq: m.seq, op: m.op, entity: m.entity, entity_id: m.entity_id };
  if (m.base_version !== undefined) wire.base_version = m.base_version;
  if (m.op === "command") { wire.command = m.command; wire.args = m.args || {}; } else wire.changes = m.changes;
  return wire;
}

async function signedOut() {
  // The kept session no longer holds: forget it, so that a reload offline does not show this account again.
  await tx(["meta"], "readwrite", (s) => s.meta.delete("session"));
  report({ signedIn: false, user: null, lastError: message("Phiên đăng nhập đã hết. Hãy đăng nhập lại để gửi hồ sơ.",
    "Your session has ended. Sign in again to send your dossiers.") });
  return "stop";
}

async function refused(http, payload) {
  const error = (payload && payload.error) || {};
  if (http === 400 && (error.code === "bad_cursor" || error.code === "cursor_ahead")) {
    await tx(["meta"], "readwrite", (s) => s.meta.delete("cursor"));
    return "again";
  }
  if (http === 401 || (http === 403 && error.code !== "device_owner_mismatch")) return "expired";
  // A 4xx is not fixed by retrying: keep the outbox and say why, in words.
  report({ lastError: message(`${error.message || "Máy chủ từ chối yêu cầu đồng bộ."} (mã ${error.code || http})`,
    `${error.message_en || "The server refused the sync request."} (code ${error.code || http})`) });
  return "stop";
}

function formOf(data) {
  const form = {};
  for (const [key, value] of Object.entries(data || {})) {
    if (key.startsWith(FORM_PREFIX) && value !== null) form[key.slice(FORM_PREFIX.length)] = value;
  }
  return form;
}

/** Apply one answer in one transaction: final results leave the outbox, changes update the replica (§7.5). */
async function applyResponse(payload, sentIds, held = new Set()) {
  return tx(["meta", "outbox", "dossiers", "conflicts", "attachments"], "readwrite", async (s) => {
    const outbox = await s.outbox.all();
    const byId = new Map(outbox.map((m) => [m.mutation_id, m]));
    const mine = new Map(byId); // for own edits answered as {entity, id, version, own} (§5.1)
    for (const result of payload.results || []) {
      const mutation = byId.get(result.mutation_id);
      if (!mutation || !FINAL.has(result.status)) continue;
      await s.outbox.delete(mutation.seq);
      byId.delete(result.mutation_id);
      const dossier = mutation.entity === "dossier" ? await s.dossiers.get(mutation.entity_id) : null;
      if (!dossier) continue;
      if (mutation.command === "submit") dossier.pending_submit = false;
      if (result.status === "rejected" || result.status === "lost") {
        // With what was sent (a command's args: a typed reason, a date…), so the person can copy it (queue.js).
        dossier.problems = [...(dossier.problems || []), { op: mutation.op, command: mutation.command || null,
          args: mutation.args || null, code: result.code, reason: result.reason, at: new Date().toISOString() }];
      }
      await s.dossiers.put(dossier);
    }
    const echoed = new Set(payload.lost || []);
    if (echoed.size) await s.meta.put(((await s.meta.get("lost")) || []).filter((seq) => !echoed.has(seq)), "lost");
    const waiting = new Set([...byId.values()].map((m) => m.entity_id));
    let repull = false;
    for (const change of payload.changes || []) {
      if (change.own) {
        const data = await ownEdit(s, change, mine.get(change.own));
        if (data) await applyDossier(s, { ...change, data }, waiting.has(change.id));
        else repull = true;
      } else if (change.entity === "dossier") await applyDossier(s, change, waiting.has(change.id));
      else if (change.entity === "conflict") {
        if (change.deleted) await s.conflicts.delete(change.id);
        else await s.conflicts.put({ id: change.id, version: change.version, ...change.data });
      } else if (change.entity === "attachment") await applyAttachment(s, change);
    }
    if (repull) await s.meta.delete("cursor"); // cannot rebuild a record here: pull everything again
    else if (payload.cursor) await s.meta.put(payload.cursor, "cursor");
    // Another round when the pull was paged, or when changes were made while this one was in flight.
    return repull || Boolean(payload.more) ||
      [...byId.values()].some((m) => !sentIds.has(m.mutation_id) && !held.has(m.mutation_id));
  });
}

// An own sequential edit: the server's record is our replica (at the mutation's base_version) plus the
// mutation's changes (§5.1). Null when we cannot rebuild it (no such mutation or another replica version).
async function ownEdit(s, change, mutation) {
  const local = change.entity === "dossier" ? await s.dossiers.get(change.id) : null;
  if (!mutation || !local || !local.replica || mutation.op !== "update" || local.replica.version !== mutation.base_version) {
    return local && local.replica && local.replica.version >= change.version ? local.replica.data : null;
  }
  const data = { ...local.replica.data };
  for (const [field, { value }] of Object.entries(mutation.changes)) {
    if (value === null || value === undefined) delete data[field]; else data[field] = value;
  }
  return data;
}

// A page as the server knows it (its status, number and checks): the same page may be on this phone with its
// bytes (attachments.js), or only on the server (another phone's, or the citizen's pages on an officer's phone).
async function applyAttachment(s, change) {
  if (change.deleted) { await s.attachments.delete(change.id); return; }
  const local = await s.attachments.get(change.id);
  if (local && local.version > change.version) return;
  await s.attachments.put({ id: change.id, version: change.version, ...change.data });
}

async function applyDossier(s, change, hasPending) {
  const local = await s.dossiers.get(change.id);
  if (change.deleted) {
    if (local && !hasPending) await s.dossiers.delete(change.id);
    return;
  }
  if (local && local.replica && local.replica.version > change.version) return;
  const data = change.data;
  const dossier = local || { id: change.id, input: {}, synced: {}, problems: [], pending_submit: false };
  const server = formOf(data);
  if (!hasPending) {
    // What the person typed follows the server, except fields still being typed (not valid yet, so unsynced).
    for (const name of new Set([...Object.keys(server), ...Object.keys(dossier.synced)])) {
      if (canonical(dossier.input[name]) === canonical(dossier.synced[name])) {
        if (name in server) dossier.input[name] = server[name]; else delete dossier.input[name];
      }
    }
    dossier.synced = server;
  }
  Object.assign(dossier, {
    replica: { version: change.version, data }, status: data.status, procedure_code: data.procedure_code,
    code: data.code || null, updated_at: dossier.updated_at || new Date().toISOString(),
  });
  await s.dossiers.put(dossier);
}
