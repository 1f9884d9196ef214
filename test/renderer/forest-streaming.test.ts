// A host's files streaming into the forest (renderer/state/forest.ts): they go in a slice a frame
// and are drawn at most every DRAW_EVERY_MS, so a frame is not held up by eight hosts' batches;
// once all are in, the forest is the one a whole build of the files gives.
import { expect, it } from 'vitest';
import { remoteId } from '../../shared/ipc.js';
import type { ScannedFile } from '../../shared/scan.js';
import { buildForest } from '../../renderer/forest/model.js';
import { patchHostFiles, setHostFiles, toggleExpand, useForest } from '../../renderer/state/forest.js';
import { record } from './forest-record.js';

const HOST = 'root@h1:22';

/** 1,500 bases, each with a data file and 4 overlays: 9,000 files, ids `host:path`. */
function hostPool(host = HOST): ScannedFile[] {
  const out: ScannedFile[] = [];
  for (let b = 0; b < 1500; b++) {
    const base = record(remoteId(host, `/p/b${b}.qcow2`), null, remoteId(host, `/p/b${b}.raw`));
    const data = record(remoteId(host, `/p/b${b}.raw`));
    data.usedBy.push(base.path);
    out.push(base, data);
    for (let u = 0; u < 4; u++) {
      const user = record(remoteId(host, `/p/b${b}-u${u}.qcow2`), base.path);
      base.usedBy.push(user.path);
      out.push(user);
    }
  }
  return out;
}

it('puts streamed files in a slice at a time, draws now and then, and ends as a whole build', async () => {
  const files = hostPool();
  patchHostFiles(HOST, files, []);
  // Nothing is done in the call itself: the batch waits for a frame.
  expect(useForest.getState().shownFiles).toBe(0);
  const drawn: number[] = [];
  const stop = useForest.subscribe((s, prev) => {
    if (s.shownFiles !== prev.shownFiles) drawn.push(s.shownFiles);
  });
  await expect.poll(() => useForest.getState().shownFiles, { timeout: 20_000, interval: 5 }).toBe(files.length);
  stop();
  // Drawn more than once on the way, never the whole batch at once from nothing.
  expect(drawn.length).toBeGreaterThan(1);
  expect(drawn[0]).toBeLessThan(files.length);
  const whole = buildForest(new Map(files.map((f) => [f.path, f])));
  const s = useForest.getState();
  expect(s.forest.trees.map((t) => [t.id, t.signature]).sort()).toEqual(whole.trees.map((t) => [t.id, t.signature]).sort());
  expect(s.layout.packed.length).toBe(whole.trees.length);
});

it('keeps the files still streaming in when a fan is opened or the filter changes meanwhile', async () => {
  const host = 'root@h2:22';
  const files = hostPool(host);
  const before = useForest.getState().shownFiles;
  patchHostFiles(host, files, []);
  await expect.poll(() => useForest.getState().shownFiles, { timeout: 20_000, interval: 1 }).toBeGreaterThan(before);
  expect(useForest.getState().shownFiles).toBeLessThan(before + files.length);
  toggleExpand(remoteId(host, '/p/b0.qcow2'));
  await expect.poll(() => useForest.getState().shownFiles, { timeout: 20_000, interval: 5 }).toBe(before + files.length);
  setHostFiles(host, null);
  await expect.poll(() => useForest.getState().shownFiles, { timeout: 20_000, interval: 5 }).toBe(before);
});
