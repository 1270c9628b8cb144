// Module worker for photo.js: decoding a 12-megapixel photo, scaling, encoding and hashing take hundreds of
// milliseconds on a cheap phone; here they never freeze the form the officer is filling in. photo.js starts it from
// its hashed URL, which the service worker precaches, so it runs offline on a fresh install too.
import { shrinkHere } from "./shrink.js";

self.onmessage = async ({ data: { id, file, settings } }) => {
  try {
    self.postMessage({ id, result: await shrinkHere(file, settings) });
  } catch (error) {
    self.postMessage({ id, error: { code: error.code || "shrink_failed", vi: error.message, en: error.en || error.message } });
  }
};
