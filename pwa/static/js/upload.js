// Sending stored pages (attachments.js) once their dossier exists on the server: register, upload, finalise
// (docs/storage.md, "Over HTTP"). XMLHttpRequest, not fetch: only it reports upload progress.
// A network failure or 503 leaves the page stored; it is tried again with a backoff (or after the server's
// Retry-After), or at once when the network returns or a sync round ends. A page reordered after the server has
// it is renumbered there too (PATCH).
import { readAll } from "./db.js";
import { allPages, getPage, updatePage } from "./attachments.js";
import { csrfToken, holdSubmitsFor, requestSync } from "./sync.js";

const FIRST_RETRY_MS = 1_000;
const MAX_RETRY_MS = 4 * 60_000;

/** Live bytes per page being sent, for the progress bars; "progress" fires on events. */
export const progress = { byId: new Map(), events: new EventTarget(), nextRetryAt: null };

let running = null;
let again = false;
let failures = 0;
let timer = null;
let notBefore = 0; // the server's Retry-After: nothing is sent before this time, whatever asks for it

/** Try again later; `afterMs` is the server's Retry-After, when it said one. */
class Retry extends Error {
  constructor(message, afterMs = null) {
    super(message);
    this.afterMs = afterMs;
  }
}

/** Retry-After in seconds or as an HTTP date (RFC 9110 §10.2.3), in ms; null when absent or unreadable. */
export function retryAfterMs(value, now = Date.now()) {
  if (!value) return null;
  if (/^\s*\d+\s*$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

/** Send what can be sent now; calls never overlap. */
// A submit waits in the outbox while its dossier has pages only on this phone (sync.js oneRound).
holdSubmitsFor(async () => new Set((await allPages()).filter((p) => p.status === "local").map((p) => p.dossier_id)));

export function uploadPages() {
  if (running) { again = true; return running; }
  if (Date.now() < notBefore) return Promise.resolve(); // the timer of retryLater sends them then
  clearTimeout(timer);
  running = sendAll().finally(() => {
    running = null;
    if (again) { again = false; uploadPages(); }
  });
  return running;
}

export function resetUploadBackoff() { failures = 0; }

// The server's Retry-After wins over our own backoff (the store says when it expects to be back; a 429 says
// when we may ask again); capped like the backoff so that a wrong header cannot park a page for hours.
function retryLater(afterMs = null) {
  failures += 1;
  const backoff = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** (failures - 1)) * (0.75 + Math.random() / 2);
  const delay = afterMs === null ? backoff : Math.min(MAX_RETRY_MS, afterMs);
  notBefore = afterMs === null ? 0 : Date.now() + delay;
  clearTimeout(timer);
  timer = setTimeout(() => { notBefore = 0; uploadPages(); }, delay);
  progress.nextRetryAt = Date.now() + delay;
}

// A page needs the uploader while it is not on the server yet, or while the server has another page number.
const needsWork = (p) => p.status === "local" || p.status === "uploading" ||
  (p.status === "verified" && p.server_page !== undefined && p.server_page !== p.page);

async function sendAll() {
  const waiting = (await allPages()).filter(needsWork);
  if (!waiting.length) return;
  // A page can only be registered once the server has its dossier: the create mutation has left the outbox.
  const unsentCreates = new Set((await readAll("outbox")).filter((m) => m.op === "create").map((m) => m.entity_id));
  const dossiers = new Set((await readAll("dossiers")).map((d) => d.id));
  const ready = waiting.filter((p) => dossiers.has(p.dossier_id) && !unsentCreates.has(p.dossier_id));
  if (!ready.length) return;
  let csrf;
  try {
    csrf = await csrfToken();
  } catch (error) {
    retryLater();
    return;
  }
  try {
    for (const page of ready) {
      if (page.status === "verified") await renumber(page, csrf);
      else await sendOne(page, csrf);
    }
    failures = 0;
    notBefore = 0;
    progress.nextRetryAt = null;
  } catch (error) {
    // Retry: the network or the store; anything else is unexpected, and also tried again rather than lost.
    if (!(error instanceof Retry)) console.error(error);
    retryLater(error instanceof Retry ? error.afterMs : null);
  }
}

async function api(method, url, csrf, body) {
  let response;
  try {
    response = await fetch(url, { method, credentials: "same-origin", cache: "no-store",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf }, body: body && JSON.stringify(body) });
  } catch (error) {
    throw new Retry("network");
  }
  if (response.status >= 500 || response.status === 429) {
    throw new Retry(String(response.status), retryAfterMs(response.headers.get("Retry-After")));
  }
  const payload = await response.json().catch(() => { throw new Retry("cut"); });
  return { status: response.status, payload };
}

async function refuse(page, payload) {
  const error = (payload && payload.error) || {};
  await updatePage(page.id, { status: "rejected", reject_reason: error.message || error.code || "?" });
}

// The person moved the page after the server had it: tell the server its new number (owner only, while the
// dossier takes pages). A refusal (the dossier moved on) keeps the server's order rather than retrying forever.
async function renumber(page, csrf) {
  const current = await getPage(page.id);
  if (!current) return;
  const moved = await api("PATCH", `/api/attachments/${page.id}`, csrf, { page: current.page });
  if (moved.status === 401) throw new Retry("401");
  await updatePage(page.id, { server_page: moved.status < 400 ? moved.payload.page : current.page });
}

async function sendOne(page, csrf) {
  const registered = await api("POST", "/api/attachments", csrf, { id: page.id, dossier_id: page.dossier_id,
    document: page.document, page: page.page, sha256: page.sha256, size: page.size, content_type: page.content_type });
  // Signed out, or the session ended: not the page's fault; it waits for the next sign-in.
  if (registered.status === 401 || registered.status === 403) throw new Retry(String(registered.status));
  if (registered.status >= 400) { await refuse(page, registered.payload); return; }
  const { attachment, upload } = registered.payload;
  await updatePage(page.id, { server_page: attachment.page, ...(page.status === "local" ? { status: "uploading" } : {}) });
  if (page.status === "local") requestSync(); // a submit held for this page may go now (sync.js oneRound)
  const current = await getPage(page.id);
  if (current && current.page !== attachment.page) await renumber(page, csrf); // moved while waiting to be sent
  if (attachment.status !== "pending") { await finish(page, attachment); return; }
  if (page.status !== "uploading") page = (await updatePage(page.id, { status: "uploading" })) || page;
  progress.byId.set(page.id, { sent: 0, total: page.size });
  tell();
  let parts = null;
  if (upload.kind === "put") {
    await put(upload.url, upload.headers || {}, page.blob, page.id, 0);
  } else if (upload.kind === "multipart") {
    const etags = { ...(page.etags || {}) };
    for (const part of upload.parts) {
      const start = (part.part_number - 1) * upload.part_size;
      if (part.etag) { etags[part.part_number] = part.etag; continue; }
      if (!part.url) continue;
      etags[part.part_number] = await put(part.url, {}, page.blob.slice(start, start + part.size), page.id, start);
      await updatePage(page.id, { etags }); // the ETags survive a reload: a server that cannot list parts needs them
    }
    parts = Object.entries(etags).map(([n, etag]) => [Number(n), etag]).sort((a, b) => a[0] - b[0]);
  }
  const finalised = await api("POST", `/api/attachments/${page.id}/finalize`, csrf, parts ? { parts } : {});
  if (finalised.status === 409) throw new Retry("incomplete"); // an upload cut short: send it again later
  if (finalised.status >= 400) { await refuse(page, finalised.payload); return; }
  await finish(page, finalised.payload);
}

async function finish(page, attachment) {
  const entry = progress.byId.get(page.id);
  if (entry) { entry.sent = entry.total; tell(); }
  await updatePage(page.id, { status: attachment.status, reject_reason: attachment.reject_reason || null });
}

function tell() { progress.events.dispatchEvent(new Event("progress")); }

/** One PUT with progress; resolves with the ETag. A link works once: a retry registers again for a fresh one. */
function put(url, headers, blob, id, offset) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("PUT", url);
    for (const [name, value] of Object.entries(headers)) {
      if (name.toLowerCase() !== "content-length" && name.toLowerCase() !== "host") xhr.setRequestHeader(name, value);
    }
    xhr.upload.onprogress = (e) => {
      const entry = progress.byId.get(id);
      if (entry) { entry.sent = Math.min(entry.total, offset + e.loaded); tell(); }
    };
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        const entry = progress.byId.get(id);
        if (entry) { entry.sent = Math.min(entry.total, offset + blob.size); tell(); }
        resolve(xhr.getResponseHeader("ETag") || "");
      } else reject(new Retry(String(xhr.status)));
    };
    xhr.onerror = () => reject(new Retry("network"));
    xhr.onabort = () => reject(new Retry("abort"));
    xhr.send(blob);
  });
}
