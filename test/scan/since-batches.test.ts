// A scan whose caller drew the batches (`drawn`) is answered with what differs from them: the
// batches and that answer must make exactly the forest a whole answer holds, and an agent without
// the capability is asked for a whole answer.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BatchLedger } from '../../electron/node/session/batch-ledger.js';
import { MemoryRecent } from '../../electron/node/session/recent.js';
import { Session } from '../../electron/node/session/session.js';
import { InspectWorker } from '../../electron/node/session/worker.js';
import { forAgent } from '../../electron/node/remote/hub.js';
import type { AgentConnection } from '../../electron/node/remote/connection.js';
import { SCAN_SINCE_BATCHES } from '../../shared/agent.js';
import type { EventData } from '../../shared/ipc.js';
import type { ForestSnapshot, ScannedFile, ScanOutcome } from '../../shared/scan.js';
import { qemuImg as q, tempDir } from '../support/qemu.js';

const byPath = (files: ScannedFile[]) => [...files].sort((a, b) => a.path.localeCompare(b.path));

describe('a drawn scan through the session', () => {
  let t: { dir: string; cleanup: () => void };
  let session: Session;
  const batches: EventData<'forest-batch'>[] = [];

  beforeAll(() => {
    t = tempDir('since-batches-');
    for (let i = 0; i < 12; i++) {
      q(t.dir, 'create', '-q', '-f', 'qcow2', `base${i}.qcow2`, '64M');
      q(t.dir, 'create', '-q', '-f', 'qcow2', '-b', `base${i}.qcow2`, '-F', 'qcow2', `top${i}.qcow2`);
    }
    q(t.dir, 'create', '-q', '-f', 'raw', 'lone.raw', '1M');
    session = new Session(
      {
        mode: 'serve',
        version: 'test',
        recent: new MemoryRecent(),
        emit: (e, d) => e === 'forest-batch' && batches.push(d as EventData<'forest-batch'>),
      },
      [],
      { recover: false, worker: new InspectWorker() },
    );
  });

  afterAll(async () => {
    await session.close();
    t.cleanup();
  });

  async function scan(drawn: boolean): Promise<Extract<ScanOutcome, { status: 'done' }>> {
    const r = await session.handle('scan', { paths: [t.dir], ...(drawn ? { drawn } : {}) });
    if (!r.ok) throw new Error(r.error);
    const o = r.value as ScanOutcome;
    if (o.status !== 'done') throw new Error('cancelled');
    return o;
  }

  it('batches plus the answer are the whole forest, and the answer does not repeat what the batches sent', async () => {
    const whole = await scan(false);
    expect(whole.sinceBatches).toBeUndefined();
    batches.length = 0;
    const drawn = await scan(true);
    const own = batches.filter((b) => b.id === drawn.forest.id);
    expect(own.length).toBeGreaterThan(0);
    const drawnFiles = new Map<string, ScannedFile>();
    for (const b of own) for (const f of b.files) drawnFiles.set(f.path, f);
    expect(drawn.sinceBatches).toBeDefined();
    expect(drawn.sinceBatches!.sent).toBe(drawnFiles.size);
    for (const p of drawn.sinceBatches!.removed) drawnFiles.delete(p);
    for (const f of drawn.forest.files) drawnFiles.set(f.path, f);
    expect(byPath([...drawnFiles.values()])).toEqual(byPath(whole.forest.files));
    expect(drawn.forest.files.length).toBeLessThan(whole.forest.files.length);
    expect(drawn.forest.summary).toEqual(whole.forest.summary);
  });
});

describe('the ledger', () => {
  const file = (p: string, size: number): ScannedFile => ({ path: p, size }) as unknown as ScannedFile;
  const snap = (files: ScannedFile[]): ForestSnapshot => ({
    id: 'x',
    roots: ['/r'],
    files,
    summary: {} as ForestSnapshot['summary'],
    reads: 1,
    ms: 1,
  });

  it('answers a file the batches sent out of date, one they never sent, and one they sent that is gone', () => {
    const l = new BatchLedger();
    l.record([file('/r/a', 1), file('/r/b', 1), file('/r/gone', 1)]);
    l.record([file('/r/b', 2)]);
    const s = l.since(snap([file('/r/a', 1), file('/r/b', 3), file('/r/new', 1)]));
    expect(s.forest.files.map((f) => f.path)).toEqual(['/r/b', '/r/new']);
    expect(s.removed).toEqual(['/r/gone']);
    expect(s.sent).toBe(3);
  });
});

describe('a host whose agent predates the capability', () => {
  const conn = (capabilities: string[]) => ({ hello: { capabilities } }) as unknown as AgentConnection;

  it('is asked for a whole answer; one that has it keeps `drawn`', () => {
    expect(forAgent(conn(['session']), 'scan', { paths: ['/r'], drawn: true })).toEqual({ paths: ['/r'] });
    expect(forAgent(conn(['session', SCAN_SINCE_BATCHES]), 'scan', { paths: ['/r'], drawn: true })).toEqual({ paths: ['/r'], drawn: true });
    expect(forAgent(conn([]), 'closeForest', {})).toEqual({});
  });
});
