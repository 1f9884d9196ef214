// A pkexec caller's conversation with the helper (root, PKEXEC_UID set), for the attacker tests:
// it asks for a plan, then has the helper apply the exact plan root's own planner made for the
// same request. Root's plan is a control: when the helper refuses it for the caller, the refusal
// is the caller's, not a plan the helper would have made otherwise.
import { tracedHelper, type TraceReport } from './support.js';

export interface Caller {
  uid: number;
  /** Root's journal folder. */
  state: string;
}

export interface CallerAnswers {
  /** Root's own answer to the request (no PKEXEC_UID). */
  asRoot: any;
  /** The caller's answer to the request. */
  planned: any;
  /** The caller's answer to applying root's plan. */
  applied: any;
  /** Every open of the caller's helper. */
  trace: TraceReport;
}

/** `request` (a plan or access-plan verb) asked by root, then by the caller with an apply of root's plan. */
export async function askAsCaller(caller: Caller, request: Record<string, unknown>): Promise<CallerAnswers> {
  const line = JSON.stringify({ id: 1, ...request });
  const root = await tracedHelper([line], { DISKCHAIN_STATE_DIR: caller.state });
  const asRoot = root.answers[0];
  if (!asRoot?.ok) throw new Error(`root's own ${String(request.verb)} failed: ${JSON.stringify(asRoot)} ${root.stderr}`);
  const { answers, stderr, trace } = await tracedHelper([line, JSON.stringify({ id: 2, verb: 'apply', plan: asRoot.result })], {
    DISKCHAIN_STATE_DIR: caller.state,
    PKEXEC_UID: String(caller.uid),
  });
  if (answers.length !== 2) throw new Error(`the helper answered ${answers.length} of 2 requests: ${stderr}`);
  return { asRoot, planned: answers[0], applied: answers[1], trace };
}

/** Refusal text of one answer: its error, or its result's refusals and message; null when accepted. */
export function refusalText(a: any): string | null {
  if (!a.ok) return String(a.error);
  const r = a.result;
  const listed = [...(r?.refusals ?? []), ...(r?.conflicts ?? [])];
  if (listed.length) return listed.map((x: { path: string; message: string }) => `${x.path}: ${x.message}`).join('\n');
  if (r?.ok === false) return String(r.message);
  return null;
}
