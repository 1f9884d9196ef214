// What the helper does with one request. Also usable in-process (tests, or a process that is
// already root and already the helper).
import type { Plan } from '../../../shared/plan.js';
import { hostBootTime } from '../core/boottime.js';
import { selinuxEnabled, selinuxPolicyAvailable } from '../native/libc.js';
import { applyPlanInProcess, listJournalInProcess, recoverInProcess, undoInProcess } from '../relabel/apply.js';
import { journalDir } from '../change/journal.js';
import { planChanges } from '../relabel/plan.js';
import { planAccessFix } from '../access/fix.js';
import { HELPER_PROTOCOL, RequestSchema, type HelperResponse, type ProbeResult } from '../change/contract.js';

function idOf(raw: unknown): number | null {
  const id = (raw as { id?: unknown })?.id;
  return typeof id === 'number' && Number.isSafeInteger(id) ? id : null;
}

/** Answer one request line. Never throws. */
export function handleLine(line: string): HelperResponse {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    return { id: null, ok: false, error: 'request is not JSON' };
  }
  const parsed = RequestSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { id: idOf(raw), ok: false, error: `invalid request: ${issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'bad shape'}` };
  }
  const req = parsed.data;
  try {
    switch (req.verb) {
      case 'probe': {
        const result: ProbeResult = {
          protocol: HELPER_PROTOCOL,
          pid: process.pid,
          uid: process.getuid?.() ?? -1,
          bootTime: hostBootTime(),
          selinuxEnabled: selinuxEnabled(),
          selinuxPolicy: selinuxPolicyAvailable(),
          journalDir: journalDir(),
        };
        return { id: req.id, ok: true, result };
      }
      case 'plan':
        return { id: req.id, ok: true, result: planChanges(req.action, req.tops, req.profile) };
      case 'apply':
        return { id: req.id, ok: true, result: applyPlanInProcess(req.plan as Plan) };
      case 'rollback':
        return { id: req.id, ok: true, result: undoInProcess(req.journalId) };
      case 'undo':
        return { id: req.id, ok: true, result: undoInProcess(req.journalId) };
      case 'recover':
        return { id: req.id, ok: true, result: recoverInProcess() };
      case 'list':
        return { id: req.id, ok: true, result: listJournalInProcess() };
      case 'access-plan':
        return { id: req.id, ok: true, result: planAccessFix(req.path, req.profile) };
    }
  } catch (e) {
    return { id: req.id, ok: false, error: e instanceof Error ? e.message : String(e) };
  }
}
