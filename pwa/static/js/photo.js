// Document photos (ảnh chụp giấy tờ) are shrunk on the phone before they are stored or sent: on a 40 kbit/s
// link a 4 MB camera JPEG takes 13 minutes, a shrunk page well under a minute (DESIGN.md, Attachments).
// Re-encoding through a canvas also drops every EXIF tag, so the GPS position never leaves the phone.
// The defaults come from bench/attachments (docs/benchmarks.md, "Attachments"): the fewest bytes that keep
// tesseract's word recall on printed Vietnamese at ≥ 95 % of the camera original's.

export const LONG_EDGE = 1800; // px, the longer side after shrinking; a smaller photo is never enlarged
export const QUALITY = 0.5; // JPEG/WebP quality given to the encoder
export const TYPE = "image/jpeg"; // every phone browser can encode JPEG; WebP is an option

const TYPES = ["image/jpeg", "image/webp"];
const PDF_MAGIC = [0x25, 0x50, 0x44, 0x46, 0x2d]; // "%PDF-": the bytes decide, never the name or declared type

/**
 * Shrinks a photo (or passes a PDF through) off the main thread.
 * @returns {Promise<{blob: Blob, width: number|null, height: number|null, sha256: string, bytes: number}>}
 */
export function shrinkPhoto(file, { longEdge = LONG_EDGE, quality = QUALITY, type = TYPE } = {}) {
  const settings = checkSettings({ longEdge, quality, type });
  // Without OffscreenCanvas a worker cannot draw: do the work here instead (older Safari).
  if (typeof Worker === "undefined" || typeof OffscreenCanvas === "undefined") return shrinkHere(file, settings);
  return new Promise((resolve, reject) => {
    const id = ++lastId;
    pending.set(id, { file, settings, resolve, reject });
    photoWorker().postMessage({ id, file, settings });
  });
}

/** The work itself; runs in photo-worker.js, or on the main thread as the fallback. */
export async function shrinkHere(file, { longEdge, quality, type }) {
  if (await isPdf(file)) {
    return { blob: file, width: null, height: null, sha256: await sha256Hex(file), bytes: file.size };
  }
  let image;
  try {
    image = await decode(file);
  } catch (error) {
    throw new PhotoError("unreadable_image", "Không đọc được ảnh. Hãy chụp lại giấy tờ.",
      "The image could not be read. Please photograph the document again.");
  }
  const scale = Math.min(1, longEdge / Math.max(image.width, image.height));
  const width = Math.max(1, Math.round(image.width * scale));
  const height = Math.max(1, Math.round(image.height * scale));
  const canvas = makeCanvas(width, height);
  const context = canvas.getContext("2d", { alpha: false });
  context.fillStyle = "#fff"; // a transparent PNG would otherwise turn black in JPEG
  context.fillRect(0, 0, width, height);
  context.imageSmoothingEnabled = true;
  context.imageSmoothingQuality = "high"; // filtered downscale: thin strokes and diacritics survive
  context.drawImage(image, 0, 0, width, height);
  if (image.close) image.close();
  let blob = await encode(canvas, type, quality);
  // A browser that cannot write the asked type returns PNG (Safari and WebP): JPEG is far smaller.
  if (blob.type !== type) blob = await encode(canvas, "image/jpeg", quality);
  return { blob, width, height, sha256: await sha256Hex(blob), bytes: blob.size };
}

export class PhotoError extends Error {
  constructor(code, vi, en) {
    super(vi);
    this.name = "PhotoError";
    this.code = code;
    this.en = en;
  }
}

export async function sha256Hex(blob) {
  const digest = await crypto.subtle.digest("SHA-256", await blob.arrayBuffer());
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function checkSettings({ longEdge, quality, type }) {
  if (!Number.isInteger(longEdge) || longEdge < 1) throw new TypeError(`longEdge must be a positive integer: ${longEdge}`);
  if (!(quality > 0 && quality <= 1)) throw new TypeError(`quality must be in (0, 1]: ${quality}`);
  if (!TYPES.includes(type)) throw new TypeError(`type must be one of ${TYPES.join(", ")}: ${type}`);
  return { longEdge, quality, type };
}

async function isPdf(file) {
  const head = new Uint8Array(await file.slice(0, PDF_MAGIC.length).arrayBuffer());
  return PDF_MAGIC.every((byte, i) => head[i] === byte);
}

// EXIF orientation is applied while decoding, so a phone held upright gives an upright page.
async function decode(file) {
  if (typeof createImageBitmap === "function") return createImageBitmap(file, { imageOrientation: "from-image" });
  const image = new Image(); // no createImageBitmap (old Safari): <img> applies the orientation by default
  const url = URL.createObjectURL(file);
  try {
    image.src = url;
    await image.decode();
    return image; // width and height of an <img> outside the page are its natural size
  } finally {
    URL.revokeObjectURL(url);
  }
}

function makeCanvas(width, height) {
  if (typeof OffscreenCanvas !== "undefined") return new OffscreenCanvas(width, height);
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  return canvas;
}

function encode(canvas, type, quality) {
  if (canvas.convertToBlob) return canvas.convertToBlob({ type, quality });
  return new Promise((resolve, reject) => canvas.toBlob(
    (blob) => (blob ? resolve(blob) : reject(new Error("canvas.toBlob gave nothing"))), type, quality));
}

// One module worker for the page, started on first use and kept: a phone shoots several pages in a row.
let worker = null;
let lastId = 0;
const pending = new Map(); // id → {file, settings, resolve, reject}

function photoWorker() {
  if (worker) return worker;
  worker = new Worker(new URL("./photo-worker.js", import.meta.url), { type: "module" });
  worker.onmessage = ({ data }) => {
    const job = pending.get(data.id);
    if (!job) return;
    pending.delete(data.id);
    if (data.error) job.reject(new PhotoError(data.error.code, data.error.vi, data.error.en));
    else job.resolve(data.result);
  };
  // The worker script could not load (e.g. not cached while offline): finish the waiting jobs here instead.
  worker.onerror = (event) => {
    event.preventDefault();
    worker.terminate();
    worker = null;
    const jobs = [...pending.values()];
    pending.clear();
    for (const job of jobs) shrinkHere(job.file, job.settings).then(job.resolve, job.reject);
  };
  return worker;
}
