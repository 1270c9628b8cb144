// Attachments: document pages (trang giấy tờ) kept on the phone: each photo or PDF, shrunk by photo.js, is stored as a Blob
// with its draft until the server has verified it. A database of its own, so the sync stores' schema stays as is.
import { changed, readAll } from "./db.js";
import { h } from "./dom.js";
import { lang, tr } from "./i18n.js";
import { shrinkPhoto } from "./photo.js";
import { uuid7 } from "./outbox.js";

const NAME = "motcua-pages";
let opening = null;

/** Fires "change" after any committed write, so the editor redraws its pages. */
export const pagesChanged = new EventTarget();

function openPages() {
  if (!opening) {
    opening = new Promise((resolve, reject) => {
      const request = indexedDB.open(NAME, 1);
      request.onupgradeneeded = () => {
        const store = request.result.createObjectStore("pages", { keyPath: "id" });
        store.createIndex("dossier_id", "dossier_id");
      };
      request.onsuccess = () => {
        const db = request.result;
        db.onversionchange = () => { db.close(); opening = null; }; // a newer release upgrades: step aside (db.js)
        resolve(db);
      };
      request.onerror = () => reject(request.error);
    });
  }
  return opening;
}

async function run(mode, work) {
  const db = await openPages();
  const transaction = db.transaction(["pages"], mode);
  const store = transaction.objectStore("pages");
  const result = await new Promise((resolve, reject) => {
    const request = work(store);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  await new Promise((resolve, reject) => {
    transaction.oncomplete = resolve;
    transaction.onerror = () => reject(transaction.error);
    transaction.onabort = () => reject(transaction.error);
  });
  if (mode === "readwrite") pagesChanged.dispatchEvent(new Event("change"));
  return result;
}

// Read-modify-write in one transaction: the uploader and the editor both change pages, never each other's fields.
async function change(work) {
  const db = await openPages();
  const transaction = db.transaction(["pages"], "readwrite");
  const store = transaction.objectStore("pages");
  const ask = (request) => new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  const result = await work({ get: (id) => ask(store.get(id)), put: (page) => ask(store.put(page)),
    of: (dossierId) => ask(store.index("dossier_id").getAll(dossierId)) });
  await new Promise((resolve, reject) => {
    transaction.oncomplete = resolve;
    transaction.onerror = () => reject(transaction.error);
    transaction.onabort = () => reject(transaction.error);
  });
  pagesChanged.dispatchEvent(new Event("change"));
  return result;
}

export const allPages = () => run("readonly", (s) => s.getAll());
export const getPage = (id) => run("readonly", (s) => s.get(id));

/** Change some fields of a stored page (null when it was deleted meanwhile); the rest stays as stored. */
export function updatePage(id, patch) {
  return change(async (s) => {
    const page = await s.get(id);
    if (!page) return null;
    const updated = { ...page, ...patch };
    await s.put(updated);
    return updated;
  });
}

/**
 * Move a page up (-1) or down (+1) among its document's pages: it swaps numbers with its neighbour. Pages the
 * server already has keep their `server_page` until the uploader has told the server (PATCH, upload.js).
 */
export function movePage(id, delta) {
  return change(async (s) => {
    const page = await s.get(id);
    if (!page) return;
    const same = (await s.of(page.dossier_id)).filter((p) => p.document === page.document).sort((a, b) => a.page - b.page);
    const other = same[same.findIndex((p) => p.id === id) + delta];
    if (!other) return;
    [page.page, other.page] = [other.page, page.page];
    await s.put(page);
    await s.put(other);
  });
}

export const pagesOf = (dossierId) => run("readonly", (s) => s.index("dossier_id").getAll(dossierId));
export const putPage = (page) => run("readwrite", (s) => s.put(page));
export const deletePage = (id) => run("readwrite", (s) => s.delete(id));
/** A deleted draft takes its pages with it. */
export async function deletePagesOf(dossierId) {
  for (const page of await pagesOf(dossierId)) await deletePage(page.id);
}
/** Sign-out on a shared phone: the pages leave with the account's dossiers. */
export const clearPages = async () => { await run("readwrite", (s) => s.clear()); await forgetSeenPages(); };

/** Shrink a chosen file and keep it: status "local" until the uploader registers it with the server. */
export async function addPage(dossierId, document, file) {
  const shrunk = await shrinkPhoto(file);
  const same = (await pagesOf(dossierId)).filter((p) => p.document === document);
  const page = {
    id: uuid7(), dossier_id: dossierId, document, page: Math.max(0, ...same.map((p) => p.page)) + 1, name: file.name || "",
    blob: shrunk.blob, sha256: shrunk.sha256, size: shrunk.bytes, content_type: shrunk.blob.type || "application/octet-stream",
    width: shrunk.width, height: shrunk.height, status: "local", reject_reason: null, etags: {},
    created_at: new Date().toISOString(),
  };
  await putPage(page);
  return page;
}

const decimal = (n) => n.toFixed(1).replace(".", lang === "en" ? "." : ",");
const mb = (bytes) => decimal(bytes / (1024 * 1024)) + " MB";
const sizeText = (bytes) => (bytes < 1024 * 1024 ? decimal(bytes / 1024) + " KB" : mb(bytes));

function statusLabel(page) {
  if (page.status === "verified") return tr("Đã gửi và kiểm tra", "Sent and verified");
  if (page.status === "rejected") return tr("Bị từ chối: ", "Refused: ") + (page.reject_reason || "");
  if (page.status === "uploading") return tr("Đang tải lên…", "Uploading…");
  if (page.status === "pending") return tr("Đang được gửi lên", "Being sent"); // from another phone
  return tr("Chờ gửi", "Waiting to send");
}

const FINAL = new Set(["verified", "rejected"]);

/** The server's records of a dossier's pages (synced, db.js "attachments"): what it verified or refused, and the
 * pages this phone does not hold (sent from another phone, or the citizen's pages on an officer's phone). */
export async function serverPagesOf(dossierId) {
  return (await readAll("attachments")).filter((a) => a.dossier_id === dossierId);
}

// Pages only on the server (the citizen's pages on an officer's phone, or sent from the owner's other phone) are
// seen through the short-lived links the server signs (GET /api/dossiers/{id}/attachments: every page's link in one
// request). What was fetched is kept in Cache Storage under a made-up address per page, so it shows offline: the
// thumbnail of every verified photo (the server's 320 px JPEG, a few KB, never the page itself), and the full page
// once it has been opened. Signing out deletes the cache with the rest (clearPages).
const SEEN = "motcua-pages-seen";
const seenKey = (id, kind) => `/pages-seen/${encodeURIComponent(id)}/${kind}`; // never requested from the network
const LINKS_FOR_MS = 4 * 60 * 1000; // the server's links last 5 minutes: ask again before they expire

async function seenBlob(id, kind) {
  if (!self.caches) return null;
  const found = await (await caches.open(SEEN)).match(seenKey(id, kind));
  return found ? found.blob() : null;
}

async function keepSeen(id, kind, blob) {
  if (!self.caches) return;
  try {
    await (await caches.open(SEEN)).put(seenKey(id, kind), new Response(blob, { headers: { "Content-Type": blob.type } }));
  } catch (error) { /* storage full: it is shown now, only not offline later */ }
}

export async function forgetSeenPages() {
  if (self.caches) await caches.delete(SEEN);
}

const linkRequests = new Map(); // dossier id -> {at, answer: Promise<Map(attachment id -> links)>}

/** The signed links of a dossier's pages; throws a TypeError offline (fetch's own) or the server's message. */
async function pageLinks(dossierId, fresh = false) {
  const known = linkRequests.get(dossierId);
  if (known && !fresh && Date.now() - known.at < LINKS_FOR_MS) return known.answer;
  const answer = (async () => {
    const response = await fetch(`/api/dossiers/${encodeURIComponent(dossierId)}/attachments`, { credentials: "same-origin" });
    const body = await response.json();
    if (!response.ok) throw new Error(lang === "en" ? body.error.message_en : body.error.message);
    return new Map(body.items.map((item) => [item.id, item]));
  })();
  linkRequests.set(dossierId, { at: Date.now(), answer });
  answer.catch(() => linkRequests.delete(dossierId));
  return answer;
}

/** A page's bytes (`kind` "thumb" or "full"): from the phone's cache, else through its signed link, then kept. */
async function remoteBlob(record, kind) {
  const kept = await seenBlob(record.id, kind);
  if (kept) return kept;
  let links = (await pageLinks(record.dossier_id)).get(record.id);
  // Verified after the links were asked for (they are kept a few minutes): ask again once.
  if (!links || !links.download_url) links = (await pageLinks(record.dossier_id, true)).get(record.id) || {};
  const url = kind === "thumb" ? links.thumbnail_url : links.download_url;
  if (!url) return null; // no thumbnail (a PDF), or not verified
  const response = await fetch(url, { credentials: "same-origin" });
  if (!response.ok) {
    linkRequests.delete(record.dossier_id); // an expired link: the next try asks for new ones
    throw new Error(tr("Trang này chưa mở được. Hãy thử lại.", "This page could not be opened. Try again."));
  }
  const blob = await response.blob();
  await keepSeen(record.id, kind, blob);
  return blob;
}

const OFFLINE_PAGE = () => tr("Cần có mạng để mở trang này lần đầu. Hãy thử lại khi có sóng.",
  "Opening this page the first time needs a connection. Try again when online.");

// The full page: a photo in a viewer over the screen (a <dialog>: focus stays in it, Esc closes it); a PDF in the
// browser's own viewer (a new tab: the app's CSP allows no <embed>).
async function openRemote(record, label, error) {
  error.hidden = true;
  try {
    const blob = await remoteBlob(record, "full");
    if (!blob) throw new Error(tr("Trang này chưa mở được.", "This page cannot be opened yet."));
    const url = URL.createObjectURL(blob);
    if (record.content_type === "application/pdf") {
      window.open(url, "_blank", "noopener");
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
      return;
    }
    const close = () => { viewer.close(); };
    const viewer = h("dialog", { class: "page-viewer", id: "page-viewer", "aria-label": label },
      h("div", { class: "actions" }, h("strong", {}, label),
        h("button", { type: "button", class: "button secondary", onclick: close }, tr("Đóng", "Close"))),
      h("img", { src: url, alt: label }));
    viewer.addEventListener("close", () => { URL.revokeObjectURL(url); viewer.remove(); });
    document.body.append(viewer);
    viewer.showModal();
  } catch (problem) {
    error.textContent = problem instanceof TypeError ? OFFLINE_PAGE() : problem.message;
    error.hidden = false;
  }
}

function remoteItem(record, number, documentName, error, thumbs) {
  const pdf = record.content_type === "application/pdf";
  const label = tr(`${documentName}, trang ${number}`, `${documentName}, page ${number}`);
  const url = thumbs.get(record.id);
  // The thumbnail once fetched (or kept from an earlier visit); until then, or for a PDF, an icon.
  const picture = url ? h("img", { src: url, alt: "", width: 96, class: "remote-thumb" })
    : h("span", { class: "thumb-icon", "aria-hidden": "true" }, pdf ? "📄 PDF" : "🖼");
  return h("li", { class: "thumb remote", "data-page": record.id, "data-status": record.status, "data-number": number },
    h("button", { type: "button", class: "link open-remote", disabled: record.status !== "verified",
      "aria-label": tr(`Mở ${documentName}, trang ${number}`, `Open ${documentName}, page ${number}`),
      onclick: () => openRemote(record, label, error) },
    picture, h("span", {}, tr(`Trang ${number}`, `Page ${number}`), " · ", sizeText(record.size))),
    h("span", { class: record.status === "rejected" ? "error page-status" : "page-status" }, statusLabel(record)));
}

/**
 * The pages section of the dossier editor: per required document a camera input, a file input and thumbnails.
 * `progress` is the uploader's live state: {byId: Map(id -> {sent, total}), events}.
 */
/**
 * The official declaration form a document is written on, where the national record names one (its file name;
 * the record gives no public address for the file, so the link is the procedure's page on the national portal,
 * where the form is downloaded). Nothing when the record names none or there is no portal page.
 */
function templateNote(document, formsAt) {
  const names = (document.templates || []).map((t) => t.file_name).filter(Boolean);
  if (!names.length || !formsAt) return null;
  return h("p", { class: "meta template" }, tr(`Mẫu tờ khai: ${names.join(", ")}. `, `Form: ${names.join(", ")}. `),
    h("a", { href: formsAt, target: "_blank", rel: "noopener" },
      tr("Tải mẫu tại Cổng Dịch vụ công quốc gia", "Download it from the National Public Service Portal")));
}

export function pagesEditor(dossierId, documents, { editable, progress, onAdded, extra = () => null, formsAt = "" }) {
  const root = h("section", { class: "pages", id: "pages" });
  // One object URL per page, kept across redraws (a page's bytes never change): a PDF tapped while the uploader
  // redraws the list still opens.
  const urls = new Map();
  const error = h("p", { class: "error", id: "pages-error", role: "alert", hidden: true });
  const thumbs = new Map(); // page only on the server -> object URL of its thumbnail, kept across redraws
  const asked = new Set(); // thumbnails being fetched or fetched: not asked again at each redraw

  // The thumbnails of the verified photos only on the server, one after the other (on 2G, side by side would not
  // come sooner), each put in its place without redrawing the list.
  async function loadThumbs(records) {
    for (const record of records) {
      if (record.status !== "verified" || !record.content_type.startsWith("image/") || asked.has(record.id)) continue;
      asked.add(record.id);
      try {
        const blob = await remoteBlob(record, "thumb");
        if (!blob || gone()) continue;
        thumbs.set(record.id, URL.createObjectURL(blob));
        const icon = root.querySelector(`li[data-page="${CSS.escape(record.id)}"] .thumb-icon`);
        if (icon) icon.replaceWith(h("img", { src: thumbs.get(record.id), alt: "", width: 96, class: "remote-thumb" }));
      } catch (problem) {
        asked.delete(record.id); // offline, or a link expired: the next redraw tries again
      }
    }
  }

  async function add(document, input) {
    error.hidden = true;
    for (const file of [...input.files]) {
      try {
        await addPage(dossierId, document, file);
      } catch (problem) {
        error.textContent = lang === "en" && problem.en ? problem.en : problem.message; // PhotoError: vi, en
        error.hidden = false;
      }
    }
    input.value = "";
    onAdded();
  }

  function bar(id, label) {
    return h("progress", { class: "upload-progress", id, max: 100, value: 0, "aria-label": label, hidden: true });
  }
  const total = bar("pages-progress", tr("Tiến độ tải lên", "Upload progress"));

  // Redrawn on the server's records only when they changed (every local write signals `changed`, typing too).
  const signature = (records) => records.map((a) => `${a.id}:${a.version}`).sort().join(",");
  let serverSeen = null;
  const onServerChange = async () => {
    if (gone()) { changed.removeEventListener("change", onServerChange); return; }
    if (signature(await serverPagesOf(dossierId)) !== serverSeen) draw();
  };

  async function draw() {
    const pages = await pagesOf(dossierId);
    const server = await serverPagesOf(dossierId);
    serverSeen = signature(server);
    const ids = new Set(pages.map((p) => p.id));
    const known = new Map(server.map((a) => [a.id, a]));
    // The server's verdict shows once it has one, even if this phone missed the answer (another phone sent it).
    const shown = (p) => (!FINAL.has(p.status) && known.has(p.id) && FINAL.has(known.get(p.id).status)
      ? { ...p, status: known.get(p.id).status, reject_reason: known.get(p.id).reject_reason } : p);
    const remote = server.filter((a) => !ids.has(a.id));
    // Pages under a name the procedure does not list (the result, a signature) still show, read-only.
    const listed = new Set(documents.map((d) => d.name));
    const others = [...new Set(remote.map((a) => a.document))].filter((name) => !listed.has(name))
      .map((name) => ({ name, readOnly: true }));
    for (const [id, url] of urls) if (!ids.has(id)) { URL.revokeObjectURL(url); urls.delete(id); }
    const used = pages.reduce((sum, p) => sum + p.size, 0);
    // In KB below 1 MB: a shrunk WebP page is tens of KB, which in MB would read "0,0 MB", as if nothing were kept.
    root.replaceChildren(h("h2", {}, tr("Giấy tờ", "Documents")), error,
      h("p", { class: "meta", id: "pages-space" },
        tr(`Dung lượng trên máy: ${sizeText(used)}`, `Space used: ${sizeText(used)}`)),
      total,
      ...[...documents, ...others].map((d, i) => {
        const canEdit = editable && !d.readOnly;
        const mine = pages.filter((p) => p.document === d.name).sort((a, b) => a.page - b.page).map(shown);
        const theirs = remote.filter((a) => a.document === d.name);
        // One list by page number: this phone's pages and those only on the server.
        const all = [...mine.map((p) => ({ p })), ...theirs.map((a) => ({ a }))]
          .sort((x, y) => (x.p || x.a).page - (y.p || y.a).page);
        // The declaration (tờ khai) is what the form above fills in: no photo of it is asked for (docs/catalog.md).
        const declaration = Boolean(d.declaration);
        return h("div", { class: "document", "data-document": d.name, "data-required": d.required ? "1" : null },
          h("h3", {}, d.name, d.required ? h("span", { class: "required required-mark" }, " ", tr("(bắt buộc)", "(required)")) : null),
          declaration ? h("p", { class: "note declaration" }, tr("Tờ khai này được lập từ thông tin Ông/Bà điền ở trên, không cần chụp ảnh.",
            "This declaration is made from the details filled in above: no photo is needed.")) : null,
          // Shown at the desk (xuất trình): a photo may help the officer, but the dossier goes without one.
          d.presented ? h("p", { class: "note presented" }, tr("Ông/Bà mang bản chính để xuất trình tại nơi tiếp nhận; không bắt buộc gửi ảnh.",
            "Bring the original to show at the office; a photo is not required.")) : null,
          templateNote(d, formsAt),
          h("ul", { class: "thumbs" }, all.map(({ p, a }, index) => {
            const number = index + 1; // the position shown: numbers may have gaps after a deletion
            if (a) return remoteItem(a, number, d.name, error, thumbs);
            const mineIndex = mine.indexOf(p);
            if (!urls.has(p.id)) urls.set(p.id, URL.createObjectURL(p.blob));
            const url = urls.get(p.id);
            // A PDF has no picture here (drawing its first page would need a PDF library on the phone): an icon,
            // its name and size; tapping opens it in the browser's own viewer.
            const thumb = p.content_type.startsWith("image/")
              ? h("img", { src: url, alt: tr(`${d.name}, trang ${number}`, `${d.name}, page ${number}`), width: 96 })
              : h("a", { class: "pdf", href: url, target: "_blank", rel: "noopener",
                "aria-label": tr(`Mở tệp PDF ${p.name || ""}, trang ${number} của ${d.name}`, `Open the PDF ${p.name || ""}, page ${number} of ${d.name}`) },
                h("span", { class: "pdf-icon", "aria-hidden": "true" }, "📄 PDF"), " ",
                h("span", { class: "pdf-name" }, p.name || "PDF"), " · ", h("span", { class: "pdf-size" }, sizeText(p.size)));
            // Reordering: buttons, not drag and drop, so that it works by tap, keyboard and screen reader alike.
            // Every button names its page and document: a screen reader lists them out of their cards.
            const move = (delta, vi, en, label) => h("button", { type: "button", class: "button secondary move",
              disabled: !mine[mineIndex + delta],
              "aria-label": tr(`${vi} trang ${number} của ${d.name}`, `${en} page ${number} of ${d.name}`),
              onclick: async () => { await movePage(p.id, delta); onAdded(); } }, label);
            return h("li", { class: "thumb", "data-page": p.id, "data-status": p.status, "data-number": number }, thumb,
              h("span", { class: p.status === "rejected" ? "error page-status" : "page-status" }, statusLabel(p)),
              bar("progress-" + p.id, tr(`Tải lên trang ${number}`, `Upload of page ${number}`)),
              canEdit && mine.length > 1 ? h("span", { class: "actions" },
                move(-1, "Chuyển lên", "Move up", "↑"), move(1, "Chuyển xuống", "Move down", "↓")) : null,
              canEdit && p.status !== "uploading" ? h("button", { type: "button", class: "button secondary",
                "aria-label": tr(`Xoá trang ${number} của ${d.name}`, `Delete page ${number} of ${d.name}`),
                onclick: () => deletePage(p.id) }, tr("Xoá", "Delete")) : null);
          })),
          // The inputs' names say which document they add to (the visible labels repeat for every document).
          canEdit && !declaration ? h("div", { class: "actions" },
            h("label", { class: "button", for: `camera-${i}` }, tr("Chụp ảnh", "Take a photo")),
            h("input", { id: `camera-${i}`, class: "visually-hidden", type: "file", accept: "image/*", capture: "environment",
              "aria-label": tr(`Chụp ảnh: ${d.name}`, `Take a photo: ${d.name}`), onchange: (e) => add(d.name, e.target) }),
            h("label", { class: "button secondary", for: `file-${i}` }, tr("Chọn ảnh hoặc PDF", "Choose a photo or PDF")),
            h("input", { id: `file-${i}`, class: "visually-hidden", type: "file", accept: "image/*,application/pdf", multiple: true,
              "aria-label": tr(`Chọn ảnh hoặc PDF: ${d.name}`, `Choose a photo or PDF: ${d.name}`),
              onchange: (e) => add(d.name, e.target) })) : null,
          canEdit && !declaration ? extra(d.name) : null); // e.g. "Dùng giấy tờ đã có" (reuse.js, given by app.js)
      }));
    showProgress();
    loadThumbs(remote);
  }

  // Bars follow the uploader's bytes without redrawing the thumbnails.
  function showProgress() {
    let sent = 0;
    let all = 0;
    for (const [id, p] of progress.byId) {
      const element = root.querySelector(`#progress-${CSS.escape(id)}`);
      if (!element) continue;
      element.hidden = false;
      element.value = p.total ? Math.round((100 * p.sent) / p.total) : 0;
      sent += p.sent;
      all += p.total;
    }
    total.hidden = !all;
    total.value = all ? Math.round((100 * sent) / all) : 0;
  }

  // Another view replaced this one: it stops listening, so listeners never pile up.
  let shown = false;
  const gone = () => { if (root.isConnected) shown = true; return shown && !root.isConnected; };
  const onChange = () => {
    if (!gone()) { draw(); return; }
    pagesChanged.removeEventListener("change", onChange);
    for (const url of [...urls.values(), ...thumbs.values()]) URL.revokeObjectURL(url);
  };
  const onProgress = () => { if (gone()) progress.events.removeEventListener("progress", onProgress); else showProgress(); };
  pagesChanged.addEventListener("change", onChange);
  changed.addEventListener("change", onServerChange); // a sync round brought the server's records of the pages
  progress.events.addEventListener("progress", onProgress);
  draw();
  return root;
}
