// IndexedDB for the app: one database, small promise helpers, and a "changed" signal for the views.
// Every write that belongs together (a draft and its outbox mutation) goes through one tx() call: one transaction.
const NAME = "motcua";
const VERSION = 2; // 2: the attachments store (a full pull fills it)
// store name -> key path (null: the key is given with put(value, key))
const STORES = {
  meta: null, // device_id, seq, cursor, lost, user_id, sync status, workflow (workflow.js)
  procedures: "code", // the catalog list, with a folded search key
  details: "code", // a procedure with its form (GET /api/procedures/{code})
  units: "code", // communes for the address picker
  dossiers: "id", // the local copy of each dossier: input, synced fields, replica from the server
  outbox: "seq", // mutations not yet final (docs/sync.md §7)
  conflicts: "id", // conflict records pulled from the server
  attachments: "id", // the server's record of each page (entity "attachment", docs/sync.md §11.1): pulled, never sent
};

let opening = null;

export function openDb() {
  if (!opening) {
    opening = new Promise((resolve, reject) => {
      const request = indexedDB.open(NAME, VERSION);
      request.onupgradeneeded = (event) => {
        const db = request.result;
        for (const [name, keyPath] of Object.entries(STORES)) {
          if (!db.objectStoreNames.contains(name)) db.createObjectStore(name, keyPath ? { keyPath } : undefined);
        }
        // A phone that synced before version 2 skipped the attachment records it pulled: pull everything again.
        if (event.oldVersion === 1) request.transaction.objectStore("meta").delete("cursor");
      };
      request.onsuccess = () => {
        const db = request.result;
        // A newer release (another tab, or the new service worker) upgrades the database: this connection steps
        // aside so the upgrade is not blocked, and the next call opens the new version.
        db.onversionchange = () => { db.close(); opening = null; };
        resolve(db);
      };
      request.onerror = () => reject(request.error);
      request.onblocked = () => reject(new Error("IndexedDB is blocked by another tab"));
    });
  }
  return opening;
}

export function done(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

function wrap(store) {
  return {
    get: (key) => done(store.get(key)),
    put: (value, key) => done(key === undefined ? store.put(value) : store.put(value, key)),
    delete: (key) => done(store.delete(key)),
    all: () => done(store.getAll()),
    clear: () => done(store.clear()),
    count: () => done(store.count()),
  };
}

/** Run work(stores) in one transaction; resolves with its result once the transaction has committed. */
export async function tx(names, mode, work) {
  const db = await openDb();
  const transaction = db.transaction(names, mode);
  const committed = new Promise((resolve, reject) => {
    transaction.oncomplete = resolve;
    transaction.onerror = () => reject(transaction.error);
    transaction.onabort = () => reject(transaction.error || new Error("transaction aborted"));
  });
  const stores = Object.fromEntries(names.map((name) => [name, wrap(transaction.objectStore(name))]));
  let result;
  try {
    result = await work(stores);
  } catch (error) {
    try { transaction.abort(); } catch (ignored) { /* already finished */ }
    throw error;
  }
  await committed;
  if (mode === "readwrite") changed.dispatchEvent(new Event("change"));
  return result;
}

export const read = (name, key) => tx([name], "readonly", (s) => s[name].get(key));
export const readAll = (name) => tx([name], "readonly", (s) => s[name].all());
export const meta = (key) => read("meta", key);
export const setMeta = (key, value) => tx(["meta"], "readwrite", (s) => s.meta.put(value, key));

/** Views listen to this to redraw after any committed write. */
export const changed = new EventTarget();

/** JSON with sorted keys: two values are equal when their canonical texts are. */
export function canonical(value) {
  if (Array.isArray(value)) return "[" + value.map(canonical).join(",") + "]";
  if (value && typeof value === "object") {
    return "{" + Object.keys(value).sort().map((k) => JSON.stringify(k) + ":" + canonical(value[k])).join(",") + "}";
  }
  return JSON.stringify(value === undefined ? null : value);
}
