// One request line in, one answer out: parsed and validated against the contract before any
// handler sees it. Also usable in-process (tests, or a process that is root already).
import { parseRequest, type HelperResponse, type VerbContext } from '../change/contract.js';
import { errorText } from '../../../shared/error-text.js';
import { runVerb } from './verbs.js';

/** Answer one request line (`contextFor`: where request `id` reports progress and learns it is cancelled). Never throws. */
export function handleLine(line: string, contextFor: (id: number) => VerbContext = () => ({})): HelperResponse {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    return { id: null, ok: false, error: 'request is not JSON' };
  }
  const req = parseRequest(raw);
  if ('error' in req) return { id: req.id, ok: false, error: req.error };
  try {
    return { id: req.id, ok: true, result: runVerb(req.verb, req.body, contextFor(req.id)) };
  } catch (e) {
    return { id: req.id, ok: false, error: errorText(e) };
  }
}
