// The shrinking itself (decode, scale, encode, hash), imported by photo.js (the main-thread fallback) and by
// photo-worker.js. It lives apart from photo.js so that photo.js can name the worker by its hashed URL without an
// import cycle (server/web/assets.py hashes a module together with what it imports and starts).

const TYPES = ["image/jpeg", "image/webp"];
const PDF_MAGIC = [0x25, 0x50, 0x44, 0x46, 0x2d]; // "%PDF-": the bytes decide, never the name or declared type

// A page whose ink and paper are close in tone — a worn photocopy, grey paper in dim light — loses its letters to
// the default setting: its strokes are faint and blurred, and scaled down they melt into the paper
// (bench/attachments: a photocopy page kept 0.57–0.66 of its words at 1600–1800 px, 0.80–0.86 at 2000 px, 0.86 at
// 2400 px q0.5, 0.91 at 2400 px q0.7). Such a page is kept at a longer edge and a higher quality instead, at about
// five times the bytes of a printed page. The tone range is the spread between the darkest and the lightest 1 % of
// the frame (desk included); the bench's printed pages span 168–192 levels, its photocopies 115–120.
export const LOW_CONTRAST = { range: 145, longEdge: 2400, quality: 0.7 };

/** Runs in photo-worker.js, or on the main thread as the fallback. `adapt: false` keeps the asked setting for
 * every page (the benchmark compares with it). */
export async function shrinkHere(file, { longEdge, quality, type, adapt = true }) {
  if (await isPdf(file)) {
    return { blob: file, width: null, height: null, sha256: await sha256Hex(file), bytes: file.size, adapted: false };
  }
  let image;
  try {
    image = await decode(file);
  } catch (error) {
    throw new PhotoError("unreadable_image", "Không đọc được ảnh. Hãy chụp lại giấy tờ.",
      "The image could not be read. Please photograph the document again.");
  }
  let canvas = draw(image, longEdge);
  let adapted = false;
  if (adapt && LOW_CONTRAST.longEdge > longEdge && toneRange(canvas) < LOW_CONTRAST.range) {
    canvas = draw(image, LOW_CONTRAST.longEdge);
    quality = Math.max(quality, LOW_CONTRAST.quality);
    adapted = true;
  }
  if (image.close) image.close();
  let blob = await encode(canvas, type, quality);
  // A browser that cannot write the asked type returns PNG (Safari and WebP): JPEG is far smaller.
  if (blob.type !== type) blob = await encode(canvas, "image/jpeg", quality);
  return { blob, width: canvas.width, height: canvas.height, sha256: await sha256Hex(blob), bytes: blob.size, adapted };
}

/** The image scaled so that its longer side is at most `longEdge` (never enlarged), on a white ground. */
function draw(image, longEdge) {
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
  return canvas;
}

/** The spread of tones between the darkest and the lightest 1 % of the pixels (luma, 0–255), from a sample of
 * about 100,000 pixels. */
export function toneRange(canvas) {
  const { data } = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height);
  const counts = new Uint32Array(256);
  const step = Math.max(1, Math.floor(data.length / 4 / 100000)) * 4;
  let total = 0;
  for (let i = 0; i < data.length; i += step) {
    counts[(data[i] * 77 + data[i + 1] * 150 + data[i + 2] * 29) >> 8] += 1;
    total += 1;
  }
  const level = (share) => {
    let seen = 0;
    for (let v = 0; v < 256; v += 1) { seen += counts[v]; if (seen >= total * share) return v; }
    return 255;
  };
  return level(0.99) - level(0.01);
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

export function checkSettings({ longEdge, quality, type, adapt = true }) {
  if (!Number.isInteger(longEdge) || longEdge < 1) throw new TypeError(`longEdge must be a positive integer: ${longEdge}`);
  if (!(quality > 0 && quality <= 1)) throw new TypeError(`quality must be in (0, 1]: ${quality}`);
  if (!TYPES.includes(type)) throw new TypeError(`type must be one of ${TYPES.join(", ")}: ${type}`);
  return { longEdge, quality, type, adapt: Boolean(adapt) };
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
