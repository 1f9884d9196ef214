// Closing the forest while its scan still runs: the scan's answer, when it comes, must not bring
// the closed forest back (it did: the answer was drawn, or a whole scan was asked for again).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { scan } from '../../electron/node/core/scan.js';
import type { DiskchainApi, Res } from '../../shared/ipc.js';
import { setApi } from '../../renderer/api.js';
import { closeForest, scanFolders, useForest } from '../../renderer/state/forest.js';
import { makeChain } from '../ui/helpers.js';
import { tempDir } from '../support/qemu.js';

let dir: string;
let cleanup: () => void;
beforeAll(() => {
  ({ dir, cleanup } = tempDir('close-during-scan-'));
  makeChain(dir);
});
afterAll(() => cleanup());

/** A transport whose scans wait until `answer` is called; counts the scans asked for. */
function slowScans(sinceBatches: boolean) {
  const r = scan([dir]);
  const waiting: (() => void)[] = [];
  let scans = 0;
  const done = (): Res<'scan'> => ({
    status: 'done',
    forest: { id: 'forest-1', roots: r.roots, files: r.files, summary: r.summary, reads: r.files.length, ms: 1 },
    ...(sinceBatches ? { sinceBatches: { sent: r.files.length, removed: [] } } : {}),
  });
  const api = {
    invoke: async (channel: string) => {
      if (channel === 'closeForest') return {};
      if (channel !== 'scan') throw new Error(`unexpected request ${channel}`);
      scans++;
      await new Promise<void>((resolve) => waiting.push(resolve));
      return done();
    },
    on: () => () => undefined,
    pathForFile: () => null,
  } as unknown as DiskchainApi;
  return { api, answer: () => waiting.splice(0).forEach((w) => w()), scans: () => scans };
}

it.each([
  ['a whole answer', false],
  ['an answer since batches that were not drawn', true],
])(
  'a forest closed while it scans stays closed (%s)',
  async (_, since) => {
    const t = slowScans(since);
    setApi(t.api);
    const scanning = scanFolders([dir]);
    await new Promise((resolve) => setTimeout(resolve, 0));
    await closeForest();
    t.answer();
    await scanning;
    // A second scan (the whole one) would wait for an answer too: answer it, then look.
    t.answer();
    await new Promise((resolve) => setTimeout(resolve, 0));
    const s = useForest.getState();
    expect(s.id).toBeNull();
    expect(s.files.size).toBe(0);
    expect(s.scanning).toBeNull();
    expect(t.scans()).toBe(1);
  },
  10_000,
);
