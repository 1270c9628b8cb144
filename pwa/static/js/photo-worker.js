// Module worker for photo.js: decoding a 12-megapixel photo, scaling, encoding and hashing take hundreds of
// milliseconds on a cheap phone; here they never freeze the form the officer is filling in.
import { shrinkHere } from "./photo.js";

self.onmessage = async ({ data: { id, file, settings } }) => {
  try {
    self.postMessage({ id, result: await shrinkHere(file, settings) });
  } catch (error) {
    self.postMessage({ id, error: { code: error.code || "shrink_failed", vi: error.message, en: error.en || error.message } });
  }
};
