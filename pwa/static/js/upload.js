// Sending stored pages (pages.js) once their dossier exists on the server: register, upload, finalise
// (docs/storage.md, "Over HTTP"). XMLHttpRequest, not fetch: only it reports upload progress.
// A network failure or 503 leaves the page stored; it is tried again with a backoff, or at once when the
// network returns or a sync round ends.
import { readAll } from "./db.js";
import { allPages, putPage } from "./pages.js";
import { session } from "./sync.js";

const FIRST_RETRY_MS = 1_000;
const MAX_RETRY_MS = 4 * 60_000;

/** Live bytes per page being sent, for the progress bars; "progress" fires on events. */
export const progress = { byId: new Map(), events: new EventTarget() };

let running = null;
let again = false;
let failures = 0;
let timer = null;

class Retry extends Error {}

/** Send what can be sent now; calls never overlap. */
export function uploadPages() {
  if (running) { again = true; return running; }
  clearTimeout(timer);
  running = sendAll().finally(() => {
    running = null;
    if (again) { again = false; uploadPages(); }
  });
  return running;
}

export function resetUploadBackoff() { failures = 0; }

function retryLater() {
  failures += 1;
  const delay = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** (failures - 1)) * (0.75 + Math.random() / 2);
  clearTimeout(timer);
  timer = setTimeout(uploadPages, delay);
}

async function sendAll() {
  const waiting = (await allPages()).filter((p) => p.status === "local" || p.status === "uploading");
  if (!waiting.length) return;
  // A page can only be registered once the server has its dossier: the create mutation has left the outbox.
  const unsentCreates = new Set((await readAll("outbox")).filter((m) => m.op === "create").map((m) => m.entity_id));
  const dossiers = new Set((await readAll("dossiers")).map((d) => d.id));
  const ready = waiting.filter((p) => dossiers.has(p.dossier_id) && !unsentCreates.has(p.dossier_id));
  if (!ready.length) return;
  let csrf;
  try {
    csrf = (await session()).csrf_token;
  } catch (error) {
    retryLater();
    return;
  }
  try {
    for (const page of ready) await sendOne(page, csrf);
    failures = 0;
  } catch (error) {
    // Retry: the network or the store; anything else is unexpected, and also tried again rather than lost.
    if (!(error instanceof Retry)) console.error(error);
    retryLater();
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
  if (response.status >= 500 || response.status === 429) throw new Retry(String(response.status));
  const payload = await response.json().catch(() => { throw new Retry("cut"); });
  return { status: response.status, payload };
}

async function refuse(page, payload) {
  const error = (payload && payload.error) || {};
  await putPage({ ...page, status: "rejected", reject_reason: error.message || error.code || "?" });
}

async function sendOne(page, csrf) {
  const registered = await api("POST", "/api/attachments", csrf, { id: page.id, dossier_id: page.dossier_id,
    document: page.document, page: page.page, sha256: page.sha256, size: page.size, content_type: page.content_type });
  // Signed out, or the session ended: not the page's fault; it waits for the next sign-in.
  if (registered.status === 401 || registered.status === 403) throw new Retry(String(registered.status));
  if (registered.status >= 400) { await refuse(page, registered.payload); return; }
  const { attachment, upload } = registered.payload;
  if (attachment.status !== "pending") { await finish(page, attachment); return; }
  if (page.status !== "uploading") { page = { ...page, status: "uploading" }; await putPage(page); }
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
      page = { ...page, etags };
      await putPage(page); // the ETags survive a reload: a server that cannot list parts needs them
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
  await putPage({ ...page, status: attachment.status, reject_reason: attachment.reject_reason || null });
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
