// The dossier statuses and the workflow's steps as the server publishes them (GET /api/workflow, from
// server/workflow/policy.py; docs/workflow.md): status names, the named groups of statuses and which step a role
// may take from which status come from here, not from copies in the app. The last answer is kept in IndexedDB
// (meta "workflow"), like the working calendar, so all of it works offline; the server still checks every step.
import { canonical, meta, setMeta } from "./db.js";
import { lang } from "./i18n.js";

/** Status codes by name (S.draft, S.submitted, S.received, …, S.returned): the published statuses' keys. */
export const S = {};
/** Named groups of status codes (sent, open, finished, ended, …) as Sets. */
export const groups = {};
let statuses = [];
let steps = [];
let onTheSpot = { roles: [], commands: [] };

function use(workflow) {
  statuses = workflow.statuses || [];
  steps = workflow.steps || [];
  onTheSpot = workflow.on_the_spot || { roles: [], commands: [] };
  for (const status of statuses) S[status.key] = status.code;
  for (const [name, codes] of Object.entries(workflow.groups || {})) groups[name] = new Set(codes);
}

/** At start-up: the stored copy at once, then the server's; waits for the server only when nothing is stored. */
export async function loadWorkflow() {
  let stored = null;
  try { stored = await meta("workflow"); } catch (error) { /* no IndexedDB: the server's answer only */ }
  if (stored) use(stored);
  const fresh = refreshWorkflow(stored);
  if (!stored) await fresh;
}

/** GET /api/workflow; kept when it differs from the stored copy. False when offline (the stored one stays). */
export async function refreshWorkflow(stored = null) {
  try {
    const response = await fetch("/api/workflow", { credentials: "same-origin" });
    if (!response.ok) return false;
    const workflow = await response.json();
    use(workflow);
    if (!stored || canonical(stored) !== canonical(workflow)) await setMeta("workflow", workflow);
    return true;
  } catch (error) {
    return false;
  }
}

/** Every status code, in order. */
export const statusCodes = () => statuses.map((status) => status.code);

/** The national portal's name of a status, in the chosen language. */
export function statusName(code) {
  const status = statuses.find((s) => s.code === code);
  return status ? (lang === "en" ? status.en : status.vi) : String(code);
}

/** The name a citizen reads (docs/pwa.md "Words"): the app's citizen screens; officers' screens use statusName. */
export function citizenStatusName(code) {
  const status = statuses.find((s) => s.code === code);
  if (!status) return String(code);
  return (lang === "en" ? status.citizen_en || status.en : status.citizen_vi || status.vi);
}

/** The step `command` as published: {command, from, to, keeps_status, substatus, roles, needs_reason}. */
export const step = (command) => steps.find((s) => s.command === command) || null;

/** The steps `role` ("owner" for the dossier's citizen) may take from `status`. */
export const stepsFrom = (status, role) => steps.filter((s) => s.from.includes(status) && s.roles.includes(role));

/** Whether `role` may take `command` from `status`. */
export const allows = (command, status, role) => stepsFrom(status, role).some((s) => s.command === command);

/** Whether `role` may take `command` from `status` on a "4 tại chỗ" procedure (catalog on_the_spot), as published. */
export const allowsOnTheSpot = (command, status, role) => onTheSpot.roles.includes(role) &&
  onTheSpot.commands.includes(command) && steps.some((s) => s.command === command && s.from.includes(status));
