// What an officer's device keeps and writes: who is signed in (so that the queue and field intake work offline),
// the working calendar, the reserved blocks of dossier codes, and the officers' mutations (field intake creates,
// queue commands), each written in one IndexedDB transaction with the outbox, as outbox.js does for citizens.
import { prefetchAllForms } from "./catalog.js";
import { meta, tx } from "./db.js";
import { todayInVietnam } from "./forms.js";
import { append, deviceId as deviceIdIn } from "./outbox.js";
import { csrfToken } from "./sync.js";
import { transferNote, vietqrPayload } from "./vietqr.js";
import { S } from "./workflow.js";

export const OFFICER_ROLES = new Set(["intake", "specialist", "leader"]);
const LOW_CODES = 5; // reserve more while online when fewer numbers than this are left for today
export const SIGNATURE_DOCUMENT = "Chữ ký của người nộp";

/** The signed-in user as last seen online (sync's /api/session answer), for offline use. */
export const savedUser = () => meta("officer_user");

export async function rememberUser(user) {
  const known = await meta("officer_user");
  if (JSON.stringify(known || null) === JSON.stringify(user || null)) return;
  await tx(["meta"], "readwrite", (s) => (user ? s.meta.put(user, "officer_user") : s.meta.delete("officer_user")));
}

/** A queue action (tiếp nhận, từ chối, yêu cầu bổ sung…): a command checked by the server when it arrives. */
export function sendCommand(id, command, args = {}) {
  return tx(["dossiers", "outbox", "meta"], "readwrite", async (s) => {
    const dossier = await s.dossiers.get(id);
    if (!dossier) return null;
    // An older refusal of the same step goes, unless it still holds words the officer typed (copy or discard).
    dossier.problems = (dossier.problems || []).filter((p) => p.command !== command ||
      Object.values(p.args || {}).some((v) => typeof v === "string" && v.trim()));
    await s.dossiers.put(dossier);
    return append(s, { op: "command", entity: "dossier", entity_id: id, command,
      base_version: dossier.replica ? dossier.replica.version : 0, args });
  });
}

let calendarFetched = false;
let accountFetched = false;

/**
 * After a sync round that reached the server: remember who is signed in; for officers fetch the working calendar
 * (once per app start) and, for intake officers, reserve dossier codes when few are left.
 */
export async function prepareOfficer(user) {
  await rememberUser(user || null);
  if (!user || !OFFICER_ROLES.has(user.role)) return;
  if (!calendarFetched) calendarFetched = await refreshCalendar();
  if (user.role !== "intake") return;
  await prefetchAllForms(); // field intake works offline for any procedure (catalog.js)
  if (!accountFetched) accountFetched = await refreshCollectionAccount(user);
  try {
    await reserveCodes({ csrf: await csrfToken() });
  } catch (error) { /* offline again: the next round tries */ }
}

// -- the calendar and the code blocks, fetched while online ------------------------------------------------------

const deviceId = () => tx(["meta"], "readwrite", deviceIdIn);

/** GET /api/calendar into meta, for appointment dates computed offline; false when offline (the stored one stays). */
export async function refreshCalendar() {
  try {
    const response = await fetch("/api/calendar", { credentials: "same-origin", cache: "no-store" });
    if (!response.ok) return false;
    const calendar = await response.json();
    await tx(["meta"], "readwrite", (s) => s.meta.put(calendar, "calendar"));
    return true;
  } catch (error) {
    return false;
  }
}

/**
 * GET /api/units/{code}/collection-account into meta "collection_account" ({unit_code, bank_bin, number, name}),
 * so that a field intake shows the VietQR code for the fee offline (intake.js, receipt.js; docs/payments.md).
 * A unit without an account (404) clears the stored one; false when offline (the stored one stays).
 */
export async function refreshCollectionAccount(user) {
  try {
    const response = await fetch(`/api/units/${encodeURIComponent(user.unit.code)}/collection-account`,
      { credentials: "same-origin", cache: "no-store" });
    if (response.status === 404) {
      await tx(["meta"], "readwrite", (s) => s.meta.delete("collection_account"));
      return true;
    }
    if (!response.ok) return false;
    const account = await response.json();
    await tx(["meta"], "readwrite", (s) => s.meta.put({ ...account, unit_code: user.unit.code }, "collection_account"));
    return true;
  } catch (error) {
    return false;
  }
}

/**
 * The fee to collect at a field intake by VietQR transfer: {amount_vnd, account} when the amount is known and not
 * zero and the unit's account is on the phone; null otherwise (the fee is then asked for later).
 */
export async function intakeFee(amountVnd, unitCode) {
  const account = await meta("collection_account");
  if (!account || account.unit_code !== unitCode || !Number.isInteger(amountVnd) || amountVnd <= 0) return null;
  try {
    vietqrPayload(account, amountVnd, "X"); // an account or amount the builder refuses: no code to show
  } catch (error) {
    return null;
  }
  return { amount_vnd: amountVnd, account: { bank_bin: account.bank_bin, number: account.number, name: account.name } };
}

// A block {device_id, agency_code, day, first, last, used: [numbers already taken]}.
const freeIn = (b) => b.last - b.first + 1 - new Set(b.used).size;
const remaining = (blocks, device, day) => blocks.filter((b) => b.device_id === device && b.day === day)
  .reduce((sum, b) => sum + freeIn(b), 0);

/** Reserve code numbers for this device (POST /api/code-blocks) when few are left for today. Quiet when offline. */
export async function reserveCodes({ csrf, force = false } = {}) {
  const device = await deviceId();
  const today = todayInVietnam();
  const blocks = (await meta("code_blocks")) || [];
  if (!force && remaining(blocks, device, today) >= LOW_CODES) return;
  try {
    const response = await fetch("/api/code-blocks", { method: "POST", credentials: "same-origin", cache: "no-store",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf }, body: JSON.stringify({ device_id: device }) });
    if (!response.ok) return;
    const answer = await response.json();
    await tx(["meta"], "readwrite", async (s) => {
      // Numbers used here or known used by the server both stay used; blocks of past days are dropped.
      const kept = ((await s.meta.get("code_blocks")) || []).filter((b) => b.day >= today);
      const key = (b) => `${b.device_id}|${b.agency_code}|${b.day}|${b.first}`;
      const known = new Map(kept.map((b) => [key(b), b]));
      for (const b of answer.blocks || []) {
        const block = { device_id: device, agency_code: b.agency_code, day: b.day, first: b.first, last: b.last };
        const before = known.get(key(block));
        known.set(key(block), { ...block, used: [...new Set([...(before ? before.used : []), ...(b.used || [])])] });
      }
      await s.meta.put([...known.values()], "code_blocks");
    });
  } catch (error) { /* offline: what is stored is used, then provisional codes */ }
}

const yymmdd = (day) => day.slice(2, 4) + day.slice(5, 7) + day.slice(8, 10);

// The next unused number of today's blocks for this device: {code, provisional}. Runs inside the create's
// transaction, so a number is used by exactly one dossier, even with two tabs open.
async function takeCode(stores, dossierId, unitCode) {
  const device = await stores.meta.get("device_id");
  const today = todayInVietnam();
  const blocks = (await stores.meta.get("code_blocks")) || [];
  const block = blocks.filter((b) => b.device_id === device && b.day === today && freeIn(b) > 0)
    .sort((a, b) => a.first - b.first)[0];
  if (!block) {
    // Tạm: no reserved number left; the server gives the final code when the dossier arrives.
    return { code: `TAM-${unitCode}-${yymmdd(today)}-${dossierId.replaceAll("-", "").slice(-10).toUpperCase()}`, provisional: true };
  }
  const used = new Set(block.used);
  let number = block.first;
  while (used.has(number)) number += 1;
  block.used = [...block.used, number];
  await stores.meta.put(blocks, "code_blocks");
  return { code: `${block.agency_code}-${yymmdd(today)}-${String(number).padStart(4, "0")}`, provisional: false };
}

export const isProvisional = (code) => typeof code === "string" && code.startsWith("TAM-");

/**
 * Field intake (tiếp nhận tại chỗ): the dossier, its receipt and its create mutation in one transaction.
 * `receipt(code)` builds what the receipt shows once the code is known. `fee` (intakeFee): the fee collected now
 * by VietQR transfer, with the code issued here as the transfer note; the create states both (fee_amount_vnd,
 * payment_note) and the server fixes the fee at reception with the same VietQR text (docs/payments.md).
 */
export function issueFieldDossier({ id, procedure, unitCode, input, clean, receivedAt, receipt, fee = null }) {
  return tx(["dossiers", "outbox", "meta"], "readwrite", async (s) => {
    const { code, provisional } = await takeCode(s, id, unitCode);
    const changes = {
      procedure_code: { value: procedure.code }, unit_code: { value: unitCode }, channel: { value: "field" },
      received_at: { value: receivedAt }, code: { value: code },
    };
    const payment = fee ? { ...fee, note: transferNote(code) } : null;
    if (payment) Object.assign(changes, { fee_amount_vnd: { value: payment.amount_vnd }, payment_note: { value: payment.note } });
    for (const [name, value] of Object.entries(clean)) changes["form." + name] = { value };
    await s.dossiers.put({
      id, procedure_code: procedure.code, procedure_name: procedure.name, status: S.received, unit_code: unitCode, code,
      input, synced: { ...clean }, replica: null, pending_submit: false, problems: [], field_intake: true,
      updated_at: receivedAt, receipt: { ...receipt(code, provisional), payment },
    });
    await append(s, { op: "create", entity: "dossier", entity_id: id, changes });
    return code;
  });
}

/**
 * Desk or field intake of a dossier that is not received: the officer checked it and guides the citizen on form 02
 * (`request_supplement`) or refuses it on form 03 (`refuse`), both before reception, so it gets no code and no
 * receipt (docs/workflow.md "Desk and field intake"). The create (at 1, awaiting the decision) and the step are two
 * mutations written in one transaction, sent in order when the network is back; the server checks both.
 */
export function fileCheckedDossier({ id, procedure, unitCode, input, clean, at, command, reason }) {
  return tx(["dossiers", "outbox", "meta"], "readwrite", async (s) => {
    const changes = { procedure_code: { value: procedure.code }, unit_code: { value: unitCode }, channel: { value: "field" } };
    for (const [name, value] of Object.entries(clean)) changes["form." + name] = { value };
    const guided = command === "request_supplement";
    await s.dossiers.put({
      id, procedure_code: procedure.code, procedure_name: procedure.name, status: guided ? S.supplement : S.refused,
      substatus: guided ? "requested" : null, unit_code: unitCode, code: "", input, synced: { ...clean }, replica: null,
      pending_submit: false, problems: [], field_intake: true, updated_at: at, checked: { command, reason, at },
    });
    await append(s, { op: "create", entity: "dossier", entity_id: id, changes });
    await append(s, { op: "command", entity: "dossier", entity_id: id, command, base_version: 0, args: { reason } });
  });
}
