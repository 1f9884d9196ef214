// Per-file progress of a run, as the helper reports it: at most one report per interval (the
// last file always), with the rate over the files changed so far.
import type { ApplyProgress, VerbContext } from '../change/contract.js';
import type { VerifyOptions } from '../change/verify.js';

/** Reports at most every `everyMs`, and always the last file. */
export const PROGRESS_EVERY_MS = 100;

export function progressMeter(
  report: (p: ApplyProgress) => void,
  everyMs = PROGRESS_EVERY_MS,
): (done: number, total: number, path: string) => void {
  let start = -1;
  let startDone = 0;
  let last = -Infinity;
  return (done, total, path) => {
    const now = performance.now();
    if (start < 0) {
      // Timed from the first file changed, not from the re-plan before it.
      start = now;
      startDone = done;
    }
    if (done < total && now - last < everyMs) return;
    last = now;
    const secs = (now - start) / 1000;
    report({ done, total, path, rate: secs > 0 ? (done - startDone) / secs : 0 });
  };
}

/** The engine's hooks for a verb's context (progress only when the request asked for it). */
export function runHooks(ctx: VerbContext, progress: boolean): Pick<VerifyOptions, 'onFile' | 'cancelled'> {
  return {
    ...(progress && ctx.progress ? { onFile: progressMeter(ctx.progress) } : {}),
    ...(ctx.cancelled ? { cancelled: ctx.cancelled } : {}),
  };
}
