// The watcher's re-read of a scanned forest, driven through the Session both front ends use: when
// it fails, the user gets a notice (it used to be dropped), once per scan, and a re-read that works
// still sends its delta without one.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemoryRecent } from '../../electron/node/session/recent.js';
import { Session } from '../../electron/node/session/session.js';
import { InspectWorker } from '../../electron/node/session/worker.js';
import type { EventName } from '../../shared/ipc.js';
import type { ScanOutcome } from '../../shared/scan.js';
import { waitFor } from '../privilege/polkit.js';
import { qemuImg as q, tempDir } from '../support/qemu.js';

let dir: string;
let cleanup: () => void;
let worker: InspectWorker;
let session: Session;
let events: EventName[];
let live: string[];

beforeEach(() => {
  ({ dir, cleanup } = tempDir('forest-notice-'));
  q(dir, 'create', '-q', '-f', 'qcow2', 'base.qcow2', '64M');
  events = [];
  live = [];
  worker = new InspectWorker();
  session = new Session(
    {
      mode: 'serve',
      version: 'test',
      recent: new MemoryRecent(),
      emit: (e, d) => {
        events.push(e);
        if (e === 'notice') live.push((d as { text: string }).text);
      },
    },
    [],
    { recover: false, worker },
  );
});

afterEach(async () => {
  await session.close();
  cleanup();
});

async function scanned(): Promise<Extract<ScanOutcome, { status: 'done' }>> {
  const r = await session.handle('scan', { paths: [dir] });
  if (!r.ok) throw new Error(r.error);
  const outcome = r.value as ScanOutcome;
  if (outcome.status !== 'done') throw new Error('the scan did not finish');
  return outcome;
}

// Sent to the open window as it happens (the 'notice' event).
const notices = () => live;

describe('a failed forest update', () => {
  it('reaches the user as a notice when the worker cannot re-read', async () => {
    await scanned();
    // The worker is gone: the watcher's re-read of the new file cannot run.
    await worker.close();
    q(dir, 'create', '-q', '-f', 'qcow2', '-b', 'base.qcow2', '-F', 'qcow2', 'vm.qcow2');
    await waitFor('a notice', () => notices().length > 0, 10_000);
    expect(notices()).toEqual([
      expect.stringMatching(
        /^Changes in the scanned folders could not be read \(the inspection worker is closed\).*scan the folders again/,
      ),
    ]);
    expect(events).not.toContain('forest-delta');
  });

  it('reaches the user when the worker no longer holds the scan, once for that scan', async () => {
    const { forest } = await scanned();
    await worker.call('dropForest', forest.id);
    q(dir, 'create', '-q', '-f', 'qcow2', '-b', 'base.qcow2', '-F', 'qcow2', 'vm1.qcow2');
    await waitFor('a notice', () => notices().length > 0, 10_000);
    expect(notices()[0]).toMatch(/no longer holds the scan/);
    q(dir, 'create', '-q', '-f', 'qcow2', '-b', 'base.qcow2', '-F', 'qcow2', 'vm2.qcow2');
    // A second batch fails the same way; its notice would only repeat the first.
    await new Promise((r) => setTimeout(r, 1500));
    expect(notices()).toHaveLength(1);
    expect(events).not.toContain('forest-delta');
  });

  it('a re-read that works sends its delta and no notice', async () => {
    await scanned();
    q(dir, 'create', '-q', '-f', 'qcow2', '-b', 'base.qcow2', '-F', 'qcow2', 'vm.qcow2');
    await waitFor('a forest delta', () => events.includes('forest-delta'), 10_000);
    expect(notices()).toEqual([]);
  });
});
