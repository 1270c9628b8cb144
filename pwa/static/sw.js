// The service worker (served at /sw.js by server/web/shell.py, which prepends self.__PRECACHE, the shell and
// its content-hashed files, and self.__VERSION). docs/pwa.md explains the caching.
// A module worker (registered with type "module"): the server rewrites this import to the hashed URL, so the
// worker runs the page's own sync code for Background Sync.
import { BACKGROUND_SYNC_TAG, drainOutbox } from "./js/sync.js";

const CACHE = "motcua-shell-" + self.__VERSION;
const API_CACHE = "motcua-api";
const SHELL = "/app";
// Never cached, never answered from a cache: who is signed in, the sync round itself, and an account's own data
// (dossiers, their timelines and pages: the app keeps its own copy, which sign-out clears on a shared phone).
const NO_CACHE_API = ["/api/session", "/api/sync", "/api/account", "/api/dossiers", "/api/attachments", "/api/notices", "/api/push"];

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
    await keepOnDemand();
    for (const name of await caches.keys()) {
      if (name.startsWith("motcua-shell-") && name !== CACHE) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

// On-demand modules an earlier release fetched and this release still names are carried over, so an officer
// who updates the app keeps field intake offline even before opening those screens again.
async function keepOnDemand() {
  const cache = await caches.open(CACHE);
  for (const url of self.__ON_DEMAND || []) {
    if (await cache.match(url)) continue;
    const old = await caches.match(url);
    if (old) await cache.put(url, old);
  }
}

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

// Hashed names never change content, so whatever is fetched here is kept: the officers' screens, loaded on
// demand (not precached, so citizens never download them), stay available offline once an officer has opened them.
async function cacheFirst(request) {
  const cached = await caches.match(request);
  if (cached) return cached;
  const response = await fetch(request);
  if (response.ok && /\.[0-9a-f]{10}\.\w+$/.test(new URL(request.url).pathname)) {
    // Awaited: when the page's import has finished, the module is in the cache (the app counts on it).
    await (await caches.open(CACHE)).put(request, response.clone());
  }
  return response;
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

// Background Sync: the browser wakes the worker when the network returns, even with no page open. The worker
// sends the outbox itself (a Web Lock keeps it from overlapping a page's round); a failure rejects, and the
// browser fires the event again later. Open pages are then told to pull and redraw.
self.addEventListener("sync", (event) => {
  if (event.tag !== BACKGROUND_SYNC_TAG) return;
  event.waitUntil((async () => {
    try {
      await drainOutbox();
    } finally {
      for (const client of await self.clients.matchAll({ type: "window" })) client.postMessage({ type: "sync-now" });
    }
  })());
});

// Push (docs/push.md): the server sends {title, body, url, tag}, encrypted for this browser. The tag is the
// message's Topic, so a newer status of the same dossier replaces the older notification instead of piling up.
self.addEventListener("push", (event) => {
  let data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch (error) {
    data = { body: event.data ? event.data.text() : "" };
  }
  event.waitUntil((async () => {
    // A notice means a dossier changed on the server: an open app pulls it at once and updates its unread count
    // (notify.js). Told first, so that the open dossier changes even when the notification cannot be shown.
    for (const client of await self.clients.matchAll({ type: "window" })) client.postMessage({ type: "notice" });
    await self.registration.showNotification(data.title || "Một cửa", {
      body: data.body || "", tag: data.tag || undefined, renotify: Boolean(data.tag), lang: "vi",
      icon: "/static/icons/icon-192.png", badge: "/static/icons/icon-192.png",
      data: { url: data.url || "/app#/inbox" },
    });
  })());
});

// A tap opens the dossier: in the app's open window if there is one (focused, its route changed, no reload),
// else in a new window. Only this site's own addresses are opened.
self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const opening = openNotice(event.notification.data);
  // Only a real tap may extend the event; DevTools cannot tap, so the browser test dispatches an untrusted copy.
  if (event.isTrusted) event.waitUntil(opening);
});

async function openNotice(data) {
  const target = new URL((data && data.url) || "/app#/inbox", self.location.origin);
  const url = target.origin === self.location.origin ? target.href : new URL("/app#/inbox", self.location.origin).href;
  const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  const app = windows.find((client) => new URL(client.url).pathname === SHELL);
  if (!app) return self.clients.openWindow(url);
  app.postMessage({ type: "open", url }); // the app changes its route itself: no reload, its state kept
  return app.focus().catch(() => app); // focusing needs the tap's permission; the route has changed anyway
}
