// Reusing an already-verified document (dùng lại giấy tờ đã số hoá): the citizen picks one of their verified pages
// from earlier dossiers (GET /api/me/documents) and the server attaches the same stored object to this dossier
// (POST /api/dossiers/{id}/attachments/reuse). Nothing is photographed or uploaded again; the page is kept on the
// phone as "verified" with its thumbnail, so the uploader (upload.js) leaves it alone.
import { readAll } from "./db.js";
import { h } from "./dom.js";
import { lang, t } from "./i18n.js";
import { uuid7 } from "./outbox.js";
import { pagesOf, putPage } from "./attachments.js";
import { events as syncEvents, session, status as sync } from "./sync.js";

// One panel per dossier and document, kept across the pages editor's redraws (an upload elsewhere redraws it):
// an open list is not lost while the person is choosing.
const panels = new Map();

class Offline extends Error {}

async function api(method, url, body) {
  let response;
  try {
    const headers = { "Content-Type": "application/json" };
    if (method !== "GET") headers["X-CSRF-Token"] = (await session()).csrf_token;
    response = await fetch(url, { method, credentials: "same-origin", cache: "no-store", headers,
      body: body && JSON.stringify(body) });
  } catch (error) {
    throw new Offline();
  }
  const payload = await response.json().catch(() => ({}));
  if (!response.ok) {
    const e = payload.error || {};
    throw new Error((lang === "en" && e.message_en) || e.message || t("reuse_failed", { m: response.status }));
  }
  return payload;
}

// The server has the dossier once its create mutation has left the outbox.
async function onServer(dossierId) {
  return !(await readAll("outbox")).some((m) => m.op === "create" && m.entity_id === dossierId);
}

async function attach(dossierId, document, item) {
  const page = Math.max(0, ...(await pagesOf(dossierId)).filter((p) => p.document === document).map((p) => p.page)) + 1;
  const made = await api("POST", `/api/dossiers/${encodeURIComponent(dossierId)}/attachments/reuse`,
    { id: uuid7(), attachment_id: item.id, document, page });
  // Only the thumbnail comes to the phone (a PDF without one comes whole): the page is already on the server.
  const link = item.thumbnail_url || made.download_url;
  let blob = new Blob([], { type: "image/jpeg" });
  try { if (link) blob = await (await fetch(link, { credentials: "same-origin" })).blob(); } catch (error) { /* shown empty */ }
  await putPage({ id: made.id, dossier_id: dossierId, document, page: made.page, name: item.document, blob,
    sha256: made.sha256, size: blob.size, content_type: item.thumbnail_url ? "image/jpeg" : made.content_type,
    status: "verified", reject_reason: null, etags: {}, server_page: made.page, reused_from: item.id,
    created_at: new Date().toISOString() });
}

/** "Dùng giấy tờ đã có" for one required document of the dossier's pages editor. */
export function reusePanel(dossierId, document) {
  const key = `${dossierId}|${document}`;
  // The same dossier drawn again (an upload elsewhere, the server's newer record) keeps its panel as it was.
  const kept = panels.get(key);
  if (kept && (kept.root.isConnected || kept.hash === location.hash)) { kept.follow(); return kept.root; }
  const note = h("p", { class: "note reuse-note", role: "status" });
  const list = h("ul", { class: "reuse-list" });
  const say = (text, error = false) => { note.textContent = text; note.className = error ? "error reuse-note" : "note reuse-note"; };

  async function open() {
    say(t("reuse_loading"));
    list.replaceChildren();
    try {
      if (sync.reachable === false) throw new Offline();
      if (!(await onServer(dossierId))) { say(t("reuse_not_sent")); return; }
      const items = (await api("GET", "/api/me/documents")).items.filter((d) => d.dossier_id !== dossierId);
      say(items.length ? t("reuse_choose") : t("reuse_none"));
      list.replaceChildren(...items.map((item) => h("li", { class: "card reuse-item", "data-attachment": item.id },
        item.thumbnail_url ? h("img", { src: item.thumbnail_url, alt: item.document, width: 64 }) : h("span", { "aria-hidden": "true" }, "📄"),
        h("span", {}, h("strong", {}, item.document), h("br"),
          h("small", { class: "meta" }, t("reuse_from", { c: item.dossier_code || t("reuse_draft") }))),
        h("button", { type: "button", class: "button secondary", "aria-label": t("reuse_use_named", { d: item.document }),
          onclick: async (e) => {
            e.target.disabled = true;
            try {
              await attach(dossierId, document, item);
              list.replaceChildren();
              say(t("reuse_done", { d: item.document }));
            } catch (problem) {
              e.target.disabled = false;
              say(problem instanceof Offline ? t("reuse_offline") : problem.message, true);
            }
          } }, t("reuse_use")))));
    } catch (problem) {
      say(problem instanceof Offline ? t("reuse_offline") : problem.message, true);
    }
  }

  const button = h("button", { type: "button", class: "button secondary reuse-open", onclick: open,
    "aria-label": t("reuse_for", { d: document }) }, t("reuse")); // each document has one: its name says which
  const root = h("div", { class: "reuse" }, button, note, list);
  // Offline the button stays visible but says why it cannot work now (the list lives on the server).
  const follow = () => {
    const offline = sync.reachable === false;
    button.disabled = offline;
    if (offline) { list.replaceChildren(); say(t("reuse_offline")); } else if (note.textContent === t("reuse_offline")) say("");
  };
  follow();
  panels.set(key, { root, follow, hash: location.hash });
  return root;
}

// Reachability changed (a sync round, the offline banner): every panel on screen says whether it can be used;
// panels of a dossier no longer shown are forgotten.
syncEvents.addEventListener("status", () => {
  for (const [key, panel] of panels) {
    if (panel.root.isConnected) panel.follow(); else if (panel.hash !== location.hash) panels.delete(key);
  }
});
