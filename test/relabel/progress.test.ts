// Per-file progress from the helper, and cancel: the helper process streams `done` of `total`
// while it changes files, and a cancel mid-run puts every file back (all or nothing).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DIGEST_MISMATCH, type ApplyProgress } from '../../electron/node/change/contract.js';
import { entriesDigest } from '../../electron/node/change/verify.js';
import { handleLine } from '../../electron/node/helper/server.js';
import { applyPlan, closeHelper, listJournal } from '../../electron/node/helper/api.js';
import { planChanges } from '../../electron/node/relabel/index.js';
import { PassThrough } from 'node:stream';
import { progressLine, progressText } from '../../electron/node/cli/progress.js';
import { tempDir } from '../support/qemu.js';
import { profile, setContext, snapshot } from '../support/chain.js';
import { stateDir } from '../support/state.js';

const FILES = 40;
let tmp: { dir: string; cleanup: () => void };
let files: string[];

beforeEach(() => {
  tmp = tempDir('diskchain-progress-');
  process.env.DISKCHAIN_STATE_DIR = stateDir();
  files = Array.from({ length: FILES }, (_, i) => path.join(tmp.dir, `disk${String(i).padStart(3, '0')}.raw`));
  for (const f of files) fs.writeFileSync(f, Buffer.alloc(4096));
  setContext(files);
});
afterEach(() => {
  closeHelper();
  delete process.env.DISKCHAIN_STATE_DIR;
  delete process.env.DISKCHAIN_TEST_FILE_DELAY_MS;
  tmp.cleanup();
});

function relabelPlan() {
  const plan = planChanges('relabel', files, profile({ allowRoots: [tmp.dir] }));
  expect(plan.refusals).toEqual([]);
  return plan;
}

describe('apply progress through the helper', () => {
  it('streams progress in order, ending at the total of files changed', async () => {
    // A short pause per file, so more than one report falls in the helper's interval.
    process.env.DISKCHAIN_TEST_FILE_DELAY_MS = '10';
    const seen: ApplyProgress[] = [];
    const r = await applyPlan(relabelPlan(), { onProgress: (p) => seen.push(p) });
    expect(r.ok).toBe(true);
    expect(seen.length).toBeGreaterThan(1);
    for (let i = 1; i < seen.length; i++) expect(seen[i]!.done).toBeGreaterThan(seen[i - 1]!.done);
    expect(new Set(seen.map((p) => p.total))).toEqual(new Set([FILES]));
    expect(seen.at(-1)!.done).toBe(r.changed);
    expect(r.changed).toBe(FILES);
    for (const p of seen) {
      expect(files).toContain(p.path);
      expect(p.rate).toBeGreaterThanOrEqual(0);
    }
  });

  it('a cancel mid-apply leaves every file as it was, and says it was put back', async () => {
    process.env.DISKCHAIN_TEST_FILE_DELAY_MS = '25';
    const before = snapshot(files);
    const abort = new AbortController();
    const seen: ApplyProgress[] = [];
    const r = await applyPlan(relabelPlan(), {
      signal: abort.signal,
      onProgress: (p) => {
        seen.push(p);
        if (p.done >= 5) abort.abort();
      },
    });
    expect(seen.length).toBeGreaterThan(0);
    expect(r.ok).toBe(false);
    expect(r.rolledBack).toBe(true);
    expect(r.message).toMatch(/cancelled by the user; the \d+ file\(s\) changed so far were put back/);
    expect(snapshot(files)).toEqual(before);
    expect(listJournal().at(-1)?.status).toBe('rolled-back');
  });

  it('a cancel after the run ended changes nothing, and the helper keeps answering', async () => {
    const abort = new AbortController();
    const r = await applyPlan(relabelPlan(), { signal: abort.signal });
    expect(r.ok).toBe(true);
    abort.abort();
    const again = await applyPlan(planChanges('restore', files, profile({ allowRoots: [tmp.dir] })));
    expect(again.ok).toBe(true);
  });
});

describe('apply sent as a digest of the entries', () => {
  it('the helper applies a plan whose fresh entries hash to the digest, and refuses any other digest', () => {
    const before = snapshot(files);
    const plan = relabelPlan();
    const ask = (digest: string) =>
      handleLine(JSON.stringify({ id: 1, verb: 'apply', plan: { ...plan, entries: [] }, entriesDigest: digest }));
    const wrong = ask(entriesDigest(plan.entries.slice(1)));
    expect(wrong).toMatchObject({ ok: true, result: { ok: false, refusals: [{ message: DIGEST_MISMATCH }] } });
    expect(snapshot(files)).toEqual(before);
    expect(ask(entriesDigest(plan.entries))).toMatchObject({ ok: true, result: { ok: true, changed: FILES } });
  });

  it('a file changed since the preview is named in the refusal (the client sends the whole plan again)', async () => {
    const plan = relabelPlan();
    fs.chownSync(files[7]!, 0, 12);
    const before = snapshot(files);
    const r = await applyPlan(plan);
    expect(r.ok).toBe(false);
    expect(r.refusals).toEqual([{ path: files[7], message: 'owner changed since the preview (0:0 → 0:12)' }]);
    expect(snapshot(files)).toEqual(before);
  });
});

describe('the CLI progress line', () => {
  it('shows done of total, the rate and the file, cut from the start to fit', () => {
    const p = { done: 3, total: 12, rate: 41.6, path: '/pool/a-long-folder-name/disk.qcow2' };
    expect(progressText(p, 200)).toBe('3/12 files (25%) 42 files/s /pool/a-long-folder-name/disk.qcow2');
    const cut = progressText(p, 40);
    expect(cut.length).toBeLessThanOrEqual(40);
    expect(cut).toMatch(/^3\/12 files \(25%\) 42 files\/s …/);
    expect(cut.endsWith('disk.qcow2')).toBe(true);
  });

  it('is drawn in place on a terminal, and not at all elsewhere', () => {
    const sink = (tty: boolean) => {
      const s = Object.assign(new PassThrough(), { isTTY: tty, columns: 60 });
      let text = '';
      s.on('data', (d: Buffer) => (text += d.toString()));
      return { stream: s as unknown as NodeJS.WriteStream, text: () => text };
    };
    const p = { done: 1, total: 2, rate: 5, path: '/pool/disk.qcow2' };
    const term = sink(true);
    const line = progressLine(term.stream);
    line.update(p);
    line.done();
    expect(term.text()).toBe(`\r\x1b[2K${progressText(p, 60)}\r\x1b[2K`);
    const pipe = sink(false);
    const none = progressLine(pipe.stream);
    none.update(p);
    none.done();
    expect(pipe.text()).toBe('');
  });

  it('escapes control characters in a file name', () => {
    expect(progressText({ done: 1, total: 1, rate: 1, path: '/p/a\x1b[2Jb' }, 200)).not.toContain('\x1b');
  });
});
