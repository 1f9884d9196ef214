// The renderer's stores, run in Node on what a real scan and open of qemu-img images give, over a
// transport that answers like the owning process (or fails like a dropped connection): failures
// that used to vanish reach the user as notices.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openPath } from '../../electron/node/session/ops.js';
import { scan } from '../../electron/node/core/scan.js';
import type { Channel, DiskchainApi, EventData, Req, Res } from '../../shared/ipc.js';
import type { ScannedFile } from '../../shared/scan.js';
import { setApi } from '../../renderer/api.js';
import { useDisks } from '../../renderer/state/disks.js';
import { applyDelta, scanFolders, useForest } from '../../renderer/state/forest.js';
import { useNotices } from '../../renderer/state/notices.js';
import { openPaths } from '../../renderer/state/open.js';
import { closeDisk } from '../../renderer/state/panel.js';
import { makeChain, type Chain } from '../ui/helpers.js';
import { tempDir } from '../support/qemu.js';

type Answers = { [C in Channel]?: (req: Req<C>) => Res<C> | Promise<Res<C>> };

/** Answers what `answers` names; anything else fails, as a request to a server that is gone. */
function transport(answers: Answers): DiskchainApi {
  return {
    invoke: async <C extends Channel>(channel: C, req: Req<C>) => {
      const fn = answers[channel] as ((r: Req<C>) => Res<C> | Promise<Res<C>>) | undefined;
      if (!fn) throw new Error('lost the connection to diskchain serve; is it still running?');
      return fn(req);
    },
    on: () => () => undefined,
    pathForFile: () => null,
  };
}

const errors = () =>
  useNotices
    .getState()
    .notices.filter((n) => n.kind === 'error')
    .map((n) => n.text);

let dir: string;
let cleanup: () => void;
let chain: Chain;

beforeAll(() => {
  ({ dir, cleanup } = tempDir('state-notices-'));
  chain = makeChain(dir);
});
afterAll(() => cleanup());
beforeEach(() => useNotices.setState({ notices: [] }));

describe('forest updates', () => {
  const delta = (over: Partial<EventData<'forest-delta'>>): EventData<'forest-delta'> => {
    const s = useForest.getState();
    return { id: s.id!, upsert: [], remove: [], reread: [], reads: 0, summary: s.summary!, totalReads: s.reads, ...over };
  };

  beforeAll(async () => {
    const r = scan([dir]);
    setApi(
      transport({
        scan: () => ({
          status: 'done',
          forest: { id: 'forest-1', roots: r.roots, files: r.files, summary: r.summary, reads: r.files.length, ms: 1 },
        }),
      }),
    );
    await scanFolders([dir]);
    expect(useForest.getState().files.size).toBe(chain.all.length);
  });

  it('applies a delta from the watcher', () => {
    applyDelta(delta({ remove: [chain.top], reread: [chain.top] }));
    const s = useForest.getState();
    expect(s.files.has(chain.top)).toBe(false);
    expect(s.updates).toBe(1);
    expect(errors()).toEqual([]);
  });

  it('a delta that cannot be applied leaves the forest as it was and says so', () => {
    const before = useForest.getState();
    // A record that is no file (a server of another version, a damaged message).
    const bad = delta({ upsert: [null as unknown as ScannedFile], reread: [chain.mid] });
    expect(() => applyDelta(bad)).not.toThrow();
    const after = useForest.getState();
    expect(after.files).toBe(before.files);
    expect(after.updates).toBe(before.updates);
    expect(errors()).toEqual([expect.stringMatching(/^the forest could not be updated \(.+\); scan the folder again/)]);
  });
});

describe('closing a disk', () => {
  it('tells the user when the owning process could not be told', async () => {
    setApi(transport({ open: (req) => ({ disks: req.paths.flatMap((p) => openPath(p).disks), errors: [] }) }));
    await openPaths([chain.top]);
    expect(useDisks.getState().disks.map((d) => d.top)).toEqual([chain.top]);
    // Only `open` answered: the connection is gone by the time the disk is closed.
    closeDisk(chain.top);
    expect(useDisks.getState().disks).toEqual([]);
    await expect.poll(errors).toEqual([`${chain.top} could not be closed: lost the connection to diskchain serve; is it still running?`]);
  });
});
