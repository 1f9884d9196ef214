// Root's side of R4 (top-parent-link.test.ts), in a node process of its own so that strace sees
// root's opens only: `tries` times, a preview of `request` (an access-plan or a relabel plan),
// then an apply of every preview that went through, each by the helper's own request handler
// (what root's CLI and the helper run). Each apply re-plans, so it needs the race to hit twice:
// the folders each preview counted as allowed show a hit of the first.
//   node --import tsx top-parent-link-run.ts '{"request":{...},"tries":N}'   prints one JSON line.
import type { Plan } from '../../shared/plan.js';
import { handleLine } from '../../electron/node/helper/server.js';
import { refusalText } from './pkexec-caller.js';

export interface Tries {
  applied: number;
  refused: number;
  /** Every distinct refusal or error, its paths as they were (the test checks each says why). */
  messages: string[];
  /** Every path an applied plan changed: its files and its folders' ACLs. */
  changedPaths: string[];
  /** Every folder a preview counted as allowed, refused or not. */
  roots: string[];
}

const MAX_MESSAGES = 200;

const job = JSON.parse(process.argv[2] ?? '{}') as { request: Record<string, unknown>; tries: number };
const out: Tries = { applied: 0, refused: 0, messages: [], changedPaths: [], roots: [] };
const messages = new Set<string>();
const changed = new Set<string>();
const roots = new Set<string>();

function refused(answer: unknown): boolean {
  const why = refusalText(answer);
  if (why === null) return false;
  out.refused++;
  if (messages.size < MAX_MESSAGES) messages.add(why);
  return true;
}

for (let i = 0; i < job.tries; i++) {
  const preview = handleLine(JSON.stringify({ ...job.request, id: i }));
  for (const r of (preview as { result?: Plan }).result?.allowedRoots ?? []) roots.add(r);
  if (refused(preview)) continue;
  const plan = (preview as { result: Plan }).result;
  if (refused(handleLine(JSON.stringify({ id: i, verb: 'apply', plan })))) continue;
  out.applied++;
  for (const e of plan.entries) if (e.changes.length) changed.add(e.path);
  for (const f of plan.access?.folders ?? []) if (f.changes.length) changed.add(f.path);
}
out.messages = [...messages];
out.changedPaths = [...changed];
out.roots = [...roots];
process.stdout.write(JSON.stringify(out) + '\n');
