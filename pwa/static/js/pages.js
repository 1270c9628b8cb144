// Document pages (trang giấy tờ) kept on the phone: each photo or PDF, shrunk by photo.js, is stored as a Blob
// with its draft until the server has verified it. A database of its own, so the sync stores' schema stays as is.
import { h } from "./formview.js";
import { lang } from "./i18n.js";
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
      request.onsuccess = () => resolve(request.result);
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
export const clearPages = () => run("readwrite", (s) => s.clear());

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

const tr = (vi, en) => (lang === "en" ? en : vi);
const decimal = (n) => n.toFixed(1).replace(".", lang === "en" ? "." : ",");
const mb = (bytes) => decimal(bytes / (1024 * 1024)) + " MB";
const sizeText = (bytes) => (bytes < 1024 * 1024 ? decimal(bytes / 1024) + " KB" : mb(bytes));

function statusLabel(page) {
  if (page.status === "verified") return tr("Đã gửi và kiểm tra", "Sent and verified");
  if (page.status === "rejected") return tr("Bị từ chối: ", "Refused: ") + (page.reject_reason || "");
  if (page.status === "uploading") return tr("Đang tải lên…", "Uploading…");
  return tr("Chờ gửi", "Waiting to send");
}

/**
 * The pages section of the dossier editor: per required document a camera input, a file input and thumbnails.
 * `progress` is the uploader's live state: {byId: Map(id -> {sent, total}), events}.
 */
export function pagesEditor(dossierId, documents, { editable, progress, onAdded, extra = () => null }) {
  const root = h("section", { class: "pages", id: "pages" });
  // One object URL per page, kept across redraws (a page's bytes never change): a PDF tapped while the uploader
  // redraws the list still opens.
  const urls = new Map();
  const error = h("p", { class: "error", id: "pages-error", role: "alert", hidden: true });

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

  async function draw() {
    const pages = await pagesOf(dossierId);
    const ids = new Set(pages.map((p) => p.id));
    for (const [id, url] of urls) if (!ids.has(id)) { URL.revokeObjectURL(url); urls.delete(id); }
    const used = pages.reduce((sum, p) => sum + p.size, 0);
    root.replaceChildren(h("h2", {}, tr("Giấy tờ", "Documents")), error,
      h("p", { class: "meta", id: "pages-space" }, tr(`Dung lượng trên máy: ${mb(used)}`, `Space used: ${mb(used)}`)),
      total,
      ...documents.map((d, i) => {
        const mine = pages.filter((p) => p.document === d.name).sort((a, b) => a.page - b.page);
        return h("div", { class: "document", "data-document": d.name }, h("h3", {}, d.name),
          h("ul", { class: "thumbs" }, mine.map((p, index) => {
            if (!urls.has(p.id)) urls.set(p.id, URL.createObjectURL(p.blob));
            const url = urls.get(p.id);
            const number = index + 1; // the position shown: numbers may have gaps after a deletion
            // A PDF has no picture here (drawing its first page would need a PDF library on the phone): an icon,
            // its name and size; tapping opens it in the browser's own viewer.
            const thumb = p.content_type.startsWith("image/")
              ? h("img", { src: url, alt: tr(`${d.name}, trang ${number}`, `${d.name}, page ${number}`), width: 96 })
              : h("a", { class: "pdf", href: url, target: "_blank", rel: "noopener",
                "aria-label": tr(`Mở tệp PDF ${p.name || ""}, trang ${number}`, `Open the PDF ${p.name || ""}, page ${number}`) },
                h("span", { class: "pdf-icon", "aria-hidden": "true" }, "📄 PDF"), " ",
                h("span", { class: "pdf-name" }, p.name || "PDF"), " · ", h("span", { class: "pdf-size" }, sizeText(p.size)));
            // Reordering: buttons, not drag and drop, so that it works by tap, keyboard and screen reader alike.
            const move = (delta, vi, en, label) => h("button", { type: "button", class: "button secondary move",
              disabled: !mine[index + delta], "aria-label": tr(`${vi} trang ${number}`, `${en} page ${number}`),
              onclick: async () => { await movePage(p.id, delta); onAdded(); } }, label);
            return h("li", { class: "thumb", "data-page": p.id, "data-status": p.status, "data-number": number }, thumb,
              h("span", { class: p.status === "rejected" ? "error page-status" : "page-status" }, statusLabel(p)),
              bar("progress-" + p.id, tr(`Tải lên trang ${number}`, `Upload of page ${number}`)),
              editable && mine.length > 1 ? h("span", { class: "actions" },
                move(-1, "Chuyển lên", "Move up", "↑"), move(1, "Chuyển xuống", "Move down", "↓")) : null,
              editable && p.status !== "uploading" ? h("button", { type: "button", class: "button secondary",
                onclick: () => deletePage(p.id) }, tr("Xoá", "Delete")) : null);
          })),
          editable ? h("div", { class: "actions" },
            h("label", { class: "button", for: `camera-${i}` }, tr("Chụp ảnh", "Take a photo")),
            h("input", { id: `camera-${i}`, class: "visually-hidden", type: "file", accept: "image/*", capture: "environment",
              onchange: (e) => add(d.name, e.target) }),
            h("label", { class: "button secondary", for: `file-${i}` }, tr("Chọn ảnh hoặc PDF", "Choose a photo or PDF")),
            h("input", { id: `file-${i}`, class: "visually-hidden", type: "file", accept: "image/*,application/pdf", multiple: true,
              onchange: (e) => add(d.name, e.target) })) : null,
          editable ? extra(d.name) : null); // e.g. "Dùng giấy tờ đã có" (reuse.js, given by app.js)
      }));
    showProgress();
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
    for (const url of urls.values()) URL.revokeObjectURL(url);
  };
  const onProgress = () => { if (gone()) progress.events.removeEventListener("progress", onProgress); else showProgress(); };
  pagesChanged.addEventListener("change", onChange);
  progress.events.addEventListener("progress", onProgress);
  draw();
  return root;
}
