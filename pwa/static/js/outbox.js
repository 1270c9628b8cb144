// The outbox (hộp thư đi): every change to a dossier is written as a mutation in the same IndexedDB
// transaction as the dossier itself (docs/sync.md §7.2), numbered by a per-device seq kept in the same database.
import { canonical, tx } from "./db.js";
import { S } from "./workflow.js";

export const FORM_PREFIX = "form.";

/** A UUIDv7: time-ordered, made on the device, so nothing waits for the server. */
export function uuid7() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  let time = Date.now();
  for (let i = 5; i >= 0; i--) { bytes[i] = time % 256; time = Math.floor(time / 256); }
  bytes[6] = (bytes[6] & 0x0f) | 0x70;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

// The device id (docs/sync.md §2) is made here and only here: at the first mutation or sync round, and anew when
// another account starts on this phone (sync.js). `stores`: a readwrite transaction holding "meta".

/** A new device id, replacing the old one. */
export async function newDevice(stores) {
  const id = uuid7();
  await stores.meta.put(id, "device_id");
  return id;
}

/** This device's id, made on first use. */
export async function deviceId(stores) {
  return (await stores.meta.get("device_id")) || newDevice(stores);
}

// The one way a mutation enters the outbox, the citizen's and the officer's alike (officer.js): appended with the
// next seq (one sequence per device); or, with `coalesce`, while the last mutation is the same record's create or
// update and has never been sent, these changes are folded into it (§7.3: a sent mutation is never edited).
// `stores`: a readwrite transaction holding "outbox" and "meta", with the write the mutation records.
export async function append(stores, mutation, { coalesce = false } = {}) {
  await deviceId(stores);
  if (coalesce) {
    const pending = await stores.outbox.all();
    const last = pending[pending.length - 1];
    if (last && !last.sent && last.entity_id === mutation.entity_id &&
        (last.op === "create" || (last.op === "update" && last.base_version === mutation.base_version))) {
      for (const [name, change] of Object.entries(mutation.changes)) {
        const before = last.changes[name];
        if (last.op === "create") {
          if (change.value === null) delete last.changes[name]; else last.changes[name] = { value: change.value };
        } else {
          last.changes[name] = { base: before ? before.base : change.base, value: change.value };
        }
      }
      await stores.outbox.put(last);
      return last;
    }
  }
  const seq = ((await stores.meta.get("seq")) || 0) + 1;
  await stores.meta.put(seq, "seq");
  const full = { ...mutation, mutation_id: uuid7(), seq, sent: false, created_at: new Date().toISOString() };
  await stores.outbox.put(full);
  return full;
}

const STORES = ["dossiers", "outbox", "meta"];

/** A new draft (hồ sơ nháp) of a procedure, created on the device; the server learns of it at the next sync. */
export async function startDraft(procedure) {
  const id = uuid7();
  await tx(STORES, "readwrite", async (s) => {
    await s.dossiers.put({
      id, procedure_code: procedure.code, procedure_name: procedure.name, status: S.draft, input: {}, synced: {},
      replica: null, pending_submit: false, problems: [], updated_at: new Date().toISOString(),
    });
    await append(s, { op: "create", entity: "dossier", entity_id: id,
      changes: { procedure_code: { value: procedure.code }, channel: { value: "online" } } });
  });
  return id;
}

/**
 * Save what the person typed (input, kept whole for the screen) and the fields that are valid (clean, from
 * forms.js): only valid values travel, one field per top-level form field ("form.<name>"), each with its base.
 */
export async function saveDraft(id, input, clean) {
  return tx(STORES, "readwrite", async (s) => {
    const dossier = await s.dossiers.get(id);
    if (!dossier) return null;
    const changes = {};
    const names = new Set([...Object.keys(dossier.synced), ...Object.keys(clean)]);
    for (const name of names) {
      const before = name in dossier.synced ? dossier.synced[name] : null;
      const after = name in clean ? clean[name] : null;
      if (canonical(before) !== canonical(after)) changes[FORM_PREFIX + name] = { base: before, value: after };
    }
    dossier.input = input;
    dossier.synced = { ...clean };
    dossier.updated_at = new Date().toISOString();
    await s.dossiers.put(dossier);
    if (!Object.keys(changes).length) return null;
    // Folded into the unsent create when it is the last mutation; otherwise an update that follows it.
    return append(s, { op: "update", entity: "dossier", entity_id: id,
      base_version: dossier.replica ? dossier.replica.version : 0, changes }, { coalesce: true });
  });
}

/** Submit (nộp): a command, checked by the server against its current state; "chờ gửi" until applied. */
export async function submitDossier(id, unitCode) {
  return tx(STORES, "readwrite", async (s) => {
    const dossier = await s.dossiers.get(id);
    dossier.pending_submit = true;
    dossier.unit_code = unitCode;
    dossier.problems = [];
    await s.dossiers.put(dossier);
    return append(s, { op: "command", entity: "dossier", entity_id: id, command: "submit",
      base_version: dossier.replica ? dossier.replica.version : 0, args: unitCode ? { unit_code: unitCode } : {} });
  });
}

/** Send a requested supplement (gửi bổ sung): a command like submit, waiting in the outbox while offline. */
export async function sendSupplement(id) {
  return tx(STORES, "readwrite", async (s) => {
    const dossier = await s.dossiers.get(id);
    dossier.problems = [];
    await s.dossiers.put(dossier);
    return append(s, { op: "command", entity: "dossier", entity_id: id, command: "send_supplement",
      base_version: dossier.replica ? dossier.replica.version : 0, args: {} });
  });
}

/** Resolve a conflict with the chosen value; base is the field's value the person sees now (R4). */
export async function resolveConflict(conflict, value, base) {
  return tx(["conflicts", "outbox", "meta"], "readwrite", async (s) => {
    const stored = await s.conflicts.get(conflict.id);
    if (stored) { stored.resolving = true; await s.conflicts.put(stored); }
    return append(s, { op: "resolve", entity: "conflict", entity_id: conflict.id,
      changes: { value: { base: base === undefined ? null : base, value } } });
  });
}

// Mutations taken out of the outbox: their seqs are declared lost until the server echoes them (§7.7).
async function declareLost(stores, seqs) {
  const lost = (await stores.meta.get("lost")) || [];
  await stores.meta.put([...new Set([...lost, ...seqs])].sort((a, b) => a - b), "lost");
}

/** Remove one change from the outbox (the outbox viewer's "Bỏ"); it will never be applied. */
export async function discardMutation(seq) {
  return tx(STORES, "readwrite", async (s) => {
    const mutation = await s.outbox.get(seq);
    if (!mutation) return;
    await s.outbox.delete(seq);
    await declareLost(s, [seq]);
    const dossier = await s.dossiers.get(mutation.entity_id);
    if (dossier && mutation.command === "submit") { dossier.pending_submit = false; await s.dossiers.put(dossier); }
  });
}

/** Delete a draft from this phone, with its unsent changes. */
export async function deleteDraft(id) {
  return tx(STORES, "readwrite", async (s) => {
    const mine = (await s.outbox.all()).filter((m) => m.entity_id === id);
    for (const m of mine) await s.outbox.delete(m.seq);
    if (mine.length) await declareLost(s, mine.map((m) => m.seq));
    await s.dossiers.delete(id);
  });
}
