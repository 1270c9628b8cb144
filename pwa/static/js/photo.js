// Document photos (ảnh chụp giấy tờ) are shrunk on the phone before they are stored or sent: on a 40 kbit/s
// link a 4 MB camera JPEG takes 13 minutes, a shrunk page well under a minute (docs/design.md, Attachments).
// Re-encoding through a canvas also drops every EXIF tag, so the GPS position never leaves the phone.
// The defaults come from bench/attachments (docs/benchmarks.md, "Attachments"): the fewest bytes that keep
// tesseract's word recall on hard pages (ruled tables in 9 pt, seals, photocopies, tilt, shadow) at ≥ 97 % of the
// camera original's, pooled, and no page below 90 %. WebP keeps thin rules and small print at about 60 % of the
// bytes JPEG needs; a browser that cannot encode WebP (Safari before 17) writes JPEG. A low-contrast page (a worn
// photocopy) is kept larger: shrink.js LOW_CONTRAST.
import { PhotoError, checkSettings, sha256Hex, shrinkHere } from "./shrink.js";

export { PhotoError, sha256Hex, shrinkHere };

export const LONG_EDGE = 1600; // px, the longer side after shrinking; a smaller photo is never enlarged
export const QUALITY = 0.5; // WebP/JPEG quality given to the encoder
export const TYPE = "image/webp"; // when the browser can encode it (preferredType)
export const FALLBACK_TYPE = "image/jpeg"; // every phone browser can encode JPEG

/**
 * Shrinks a photo (or passes a PDF through) off the main thread. A low-contrast page (a worn photocopy) is kept
 * at a longer edge (shrink.js LOW_CONTRAST; `adapted` says so) unless `adapt` is false.
 * @returns {Promise<{blob: Blob, width: number|null, height: number|null, sha256: string, bytes: number, adapted: boolean}>}
 */
export async function shrinkPhoto(file, { longEdge = LONG_EDGE, quality = QUALITY, type, adapt = true } = {}) {
  const settings = checkSettings({ longEdge, quality, type: type || await preferredType(), adapt });
  // Without OffscreenCanvas a worker cannot draw: do the work here instead (older Safari).
  if (typeof Worker === "undefined" || typeof OffscreenCanvas === "undefined") return shrinkHere(file, settings);
  return new Promise((resolve, reject) => {
    const id = ++lastId;
    pending.set(id, { file, settings, resolve, reject });
    photoWorker().postMessage({ id, file, settings });
  });
}

let preferred = null;

/** TYPE when this browser's canvas really writes it (its blob says so), FALLBACK_TYPE otherwise; asked once. */
export function preferredType() {
  preferred ||= writesType(TYPE).then((yes) => (yes ? TYPE : FALLBACK_TYPE), () => FALLBACK_TYPE);
  return preferred;
}

async function writesType(type) {
  // A browser that cannot write the asked type quietly writes PNG instead: the blob's type tells.
  if (typeof OffscreenCanvas !== "undefined") {
    const canvas = new OffscreenCanvas(1, 1);
    canvas.getContext("2d");
    if (canvas.convertToBlob) return (await canvas.convertToBlob({ type })).type === type;
  }
  if (typeof document === "undefined") return false;
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = 1;
  return canvas.toDataURL(type).startsWith(`data:${type}`);
}

// One module worker for the page, started on first use and kept: a phone shoots several pages in a row.
let worker = null;
let lastId = 0;
const pending = new Map(); // id → {file, settings, resolve, reject}

function photoWorker() {
  if (worker) return worker;
  // The server rewrites this URL to photo-worker's hashed one (server/web/assets.py), which the service worker
  // precaches: a fresh install shrinks offline in the worker too.
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
