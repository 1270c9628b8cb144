// The service worker (served at /sw.js by server/pwa_routes.py, which prepends self.__PRECACHE, the shell and
// its content-hashed files, and self.__VERSION). docs/pwa.md explains the caching.
const CACHE = "motcua-shell-" + self.__VERSION;
const API_CACHE = "motcua-api";
const SHELL = "/app";
// Never cached, never answered from a cache: who is signed in, and the sync round itself.
const NO_CACHE_API = ["/api/session", "/api/sync", "/api/account"];

self.addEventListener("install", (event) => {
  event.waitUntil(precache());
});

// A hashed file already downloaded by an earlier release is copied, not fetched again: on 2G every kilobyte counts.
async function precache() {
  const cache = await caches.open(CACHE);
  for (const url of self.__PRECACHE) {
    const old = url === SHELL ? null : await caches.match(url);
    if (old) {
      await cache.put(url, old);
    } else {
      // The shell is revalidated; a hashed file may come from the HTTP cache (the page has just loaded it, and
      // its name changes with its content), so a first visit does not download every module twice.
      const response = await fetch(url, { cache: url === SHELL ? "no-cache" : "default", credentials: "same-origin" });
      if (!response.ok) throw new Error(`precache ${url}: ${response.status}`);
      await cache.put(url, response);
    }
  }
}

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith("motcua-shell-") && name !== CACHE) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

// The page asks the waiting release to take over when the person taps "tải lại".
self.addEventListener("message", (event) => {
  if (event.data && event.data.type === "skip-waiting") self.skipWaiting();
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return; // writes go straight to the network; the app keeps them in its outbox
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate") {
    event.respondWith(navigation(request, url));
  } else if (url.pathname.startsWith("/static/")) {
    event.respondWith(cacheFirst(request));
  } else if (url.pathname.startsWith("/api/") && !NO_CACHE_API.some((p) => url.pathname.startsWith(p))) {
    event.respondWith(networkFirst(request));
  }
});

// The shell is the app: it opens from the cache at once, online or not; a new release arrives as a new worker.
// Other pages (the server-rendered catalog, sign-in) come from the network, and the shell when there is none.
async function navigation(request, url) {
  if (url.pathname === SHELL || url.pathname === SHELL + "/") {
    const cached = await caches.match(SHELL);
    if (cached) return cached;
  }
  try {
    return await fetch(request);
  } catch (error) {
    return (await caches.match(SHELL)) || Response.error();
  }
}

async function cacheFirst(request) {
  const cached = await caches.match(request);
  return cached || fetch(request);
}

// Catalog reads: fresh when the network answers, the last answer when it does not (the app also keeps the
// catalog in IndexedDB; this covers a reload in the middle of fetching it).
async function networkFirst(request) {
  try {
    const response = await fetch(request);
    if (response.ok) (await caches.open(API_CACHE)).put(request, response.clone());
    return response;
  } catch (error) {
    const cached = await caches.match(request, { cacheName: API_CACHE });
    if (cached) return cached;
    throw error;
  }
}

// Background Sync: the browser wakes the worker when the network returns; an open window does the round
// (the sync code lives in the page's modules, so the worker only wakes it).
self.addEventListener("sync", (event) => {
  if (event.tag !== "motcua-outbox") return;
  event.waitUntil((async () => {
    const windows = await self.clients.matchAll({ type: "window" });
    for (const client of windows) client.postMessage({ type: "sync-now" });
  })());
});
