// The citizen's signature on the officer's screen (chữ ký của người nộp): a canvas drawn with pointer events
// (finger, stylus or mouse), cleared at will, and kept as a PNG page of the dossier so it uploads like any page.
import { h } from "./dom.js";
import { tr } from "./i18n.js";
import { pagesOf, putPage, deletePage } from "./attachments.js";
import { uuid7 } from "./outbox.js";

const WIDTH = 600; // canvas pixels; the element is scaled to the screen width
const HEIGHT = 240;
const MIN_STROKE_POINTS = 8; // a tap or a dot is not a signature

async function sha256Hex(blob) {
  const digest = await crypto.subtle.digest("SHA-256", await blob.arrayBuffer());
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * A signature pad for `dossierId`, stored under `document`. onSaved(page) is called once the PNG is stored;
 * the returned element carries `hasSignature()` for the caller's checks.
 */
export function signaturePad(dossierId, document, { onSaved = () => {}, title = ["Chữ ký của người nộp", "Applicant's signature"],
  help = ["Mời người nộp hồ sơ ký vào khung dưới đây.", "Ask the applicant to sign in the box below."] } = {}) {
  const canvas = h("canvas", { width: WIDTH, height: HEIGHT, class: "signature-pad", id: "signature-pad",
    "aria-label": tr("Khung ký tên: người nộp ký bằng ngón tay", "Signature box: the applicant signs with a finger") });
  const context = canvas.getContext("2d");
  const status = h("p", { class: "meta", id: "signature-status", "aria-live": "polite" });
  const error = h("p", { class: "error", id: "signature-error", role: "alert", hidden: true });
  let points = 0;
  let drawing = false;
  let saved = null; // the stored page, once saved

  const blank = () => {
    context.fillStyle = "#fff";
    context.fillRect(0, 0, WIDTH, HEIGHT);
    context.strokeStyle = "#0a2a66";
    context.lineWidth = 3;
    context.lineCap = "round";
    context.lineJoin = "round";
    points = 0;
  };
  const at = (event) => {
    const box = canvas.getBoundingClientRect();
    return [(event.clientX - box.left) * (WIDTH / box.width), (event.clientY - box.top) * (HEIGHT / box.height)];
  };
  canvas.addEventListener("pointerdown", (event) => {
    event.preventDefault();
    canvas.setPointerCapture(event.pointerId);
    drawing = true;
    const [x, y] = at(event);
    context.beginPath();
    context.moveTo(x, y);
  });
  canvas.addEventListener("pointermove", (event) => {
    if (!drawing) return;
    event.preventDefault();
    // Coalesced events keep a fast stroke smooth on phones that batch them.
    for (const e of event.getCoalescedEvents ? event.getCoalescedEvents() : [event]) {
      const [x, y] = at(e);
      context.lineTo(x, y);
      points += 1;
    }
    context.stroke();
  });
  const end = () => { drawing = false; };
  canvas.addEventListener("pointerup", end);
  canvas.addEventListener("pointercancel", end);

  const show = () => {
    status.textContent = saved ? tr("Đã lưu chữ ký.", "Signature saved.") : tr("Chưa có chữ ký.", "Not signed yet.");
  };

  async function clear() {
    blank();
    error.hidden = true;
    for (const page of await pagesOf(dossierId)) if (page.document === document) await deletePage(page.id);
    saved = null;
    show();
  }

  async function save() {
    if (points < MIN_STROKE_POINTS) {
      error.textContent = tr("Hãy ký vào khung trước khi lưu.", "Sign in the box before saving.");
      error.hidden = false;
      return;
    }
    error.hidden = true;
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
    for (const page of await pagesOf(dossierId)) if (page.document === document) await deletePage(page.id);
    saved = {
      id: uuid7(), dossier_id: dossierId, document, page: 1, name: "chu-ky.png", blob, sha256: await sha256Hex(blob),
      size: blob.size, content_type: "image/png", width: WIDTH, height: HEIGHT, status: "local", reject_reason: null,
      etags: {}, created_at: new Date().toISOString(),
    };
    await putPage(saved);
    show();
    onSaved(saved);
  }

  blank();
  // A signature saved before a reload is shown again rather than asked for twice.
  pagesOf(dossierId).then((pages) => {
    const page = pages.find((p) => p.document === document);
    if (!page) { show(); return; }
    saved = page;
    const image = new Image();
    image.onload = () => { context.drawImage(image, 0, 0, WIDTH, HEIGHT); URL.revokeObjectURL(image.src); };
    image.src = URL.createObjectURL(page.blob);
    show();
  });

  const root = h("section", { class: "signature", id: "signature" },
    h("h2", {}, tr(...title)),
    h("p", { class: "help" }, tr(...help)),
    canvas, status, error,
    h("div", { class: "actions" },
      h("button", { type: "button", class: "button secondary", id: "signature-clear", onclick: clear }, tr("Xoá, ký lại", "Clear")),
      h("button", { type: "button", id: "signature-save", onclick: save }, tr("Lưu chữ ký", "Save the signature"))));
  root.hasSignature = () => Boolean(saved);
  return root;
}
