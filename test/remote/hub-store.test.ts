// What the hub keeps and routes across hosts, against a real sshd on 127.0.0.4 (root's agent from
// source): each host's scanned folders kept in hosts.json (validated, 0600) and scanned again
// when the host connects in a later session; and the window's undo of a change made on a host
// going to that host, by the last journal id kept there.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventName } from '../../shared/ipc.js';
import { parseHostSpec } from '../../electron/node/remote/host-spec.js';
import { Hub } from '../../electron/node/remote/hub.js';
import { hostsFile, listHosts, setHostFolders } from '../../electron/node/remote/hosts-store.js';
import { MemoryRecent } from '../../electron/node/session/recent.js';
import { Session } from '../../electron/node/session/session.js';
import { makeChain, snapshot } from '../support/chain.js';
import { tempDir } from '../support/qemu.js';
import { stateDir } from '../support/state.js';
import { installSourceAgent, sshClient, startSshd, type Sshd } from '../support/sshd.js';

const client = sshClient();
const tmp = tempDir('diskchain-hubstore-');
const home = path.join(tmp.dir, 'home');
const pool = path.join(tmp.dir, 'pool');
let sshd: Sshd;
let url: string;
let host: string;
const hubs: Hub[] = [];

function newHub(seen: Array<{ event: EventName; data: Record<string, unknown> }> = []): Hub {
  const hub = new Hub({ emit: (event, data) => seen.push({ event, data: data as Record<string, unknown> }) });
  hubs.push(hub);
  return hub;
}

beforeAll(async () => {
  fs.mkdirSync(home, { recursive: true });
  fs.mkdirSync(pool);
  // The remote's journal is its own: a local undo could not revert the remote's change by accident.
  installSourceAgent({ name: 'root', home, uid: 0 }, { DISKCHAIN_STATE_DIR: stateDir() });
  sshd = await startSshd('127.0.0.4', ['root'], client.keyPub, undefined, [`SetEnv HOME=${home}`]);
  client.trust(sshd);
  url = `ssh://root@${sshd.addr}:${sshd.port}`;
  host = parseHostSpec(url).id;
  Object.assign(process.env, client.env, { XDG_CONFIG_HOME: path.join(tmp.dir, 'config') });
}, 60_000);

afterAll(async () => {
  for (const h of hubs) await h.close();
  await sshd?.stop();
  client.close();
  tmp.cleanup();
});

describe("a host's folders across sessions", () => {
  it('keeps the folders scanned on a host in a 0600 hosts.json, and scans them again on connect', async () => {
    makeChain(pool);
    const first = newHub();
    expect((await first.add(url)).state).toBe('connected');
    const r = await first.request(host, 'scan', { paths: [pool] });
    expect(r.status).toBe('done');
    expect(listHosts().find((h) => h.id === host)?.folders).toEqual([pool]);
    expect(fs.statSync(hostsFile()).mode & 0o777).toBe(0o600);
    await first.close();

    // A later session: nothing opened by hand, the forest comes back once the host connects.
    const seen: Array<{ event: EventName; data: Record<string, unknown> }> = [];
    const next = newHub(seen);
    expect(next.list().find((h) => h.id === host)?.folders).toEqual([pool]);
    expect((await next.connect(host)).state).toBe('connected');
    await expect
      .poll(() => seen.find((e) => e.event === 'host-forest' && e.data.host === host), { timeout: 30_000, interval: 100 })
      .toBeTruthy();
    const forest = seen.find((e) => e.event === 'host-forest')!.data.forest as { roots: string[] };
    expect(forest.roots).toEqual([pool]);
  }, 90_000);

  it('refuses a hosts.json whose folders are not absolute paths, and keeps only valid ones', () => {
    const good = fs.readFileSync(hostsFile(), 'utf8');
    try {
      const stored = JSON.parse(good) as Array<Record<string, unknown>>;
      stored[0]!.folders = ['relative/dir'];
      fs.writeFileSync(hostsFile(), JSON.stringify(stored));
      expect(() => listHosts()).toThrow(/not a diskchain hosts file/);
      stored[0]!.folders = Array.from({ length: 65 }, (_, i) => `/f${i}`);
      fs.writeFileSync(hostsFile(), JSON.stringify(stored));
      expect(() => listHosts()).toThrow(/not a diskchain hosts file/);
    } finally {
      fs.writeFileSync(hostsFile(), good, { mode: 0o600 });
    }
    expect(setHostFolders(host, ['/a', 'b', '/c\0d'])).toBe(true);
    expect(listHosts().find((h) => h.id === host)?.folders).toEqual(['/a']);
    expect(setHostFolders('nobody@nowhere:22', ['/a'])).toBe(false);
    setHostFolders(host, [pool]);
  });
});

describe('undo of a change made on a host', () => {
  it('goes to that host, with or without the journal id', async () => {
    const dir = path.join(pool, 'undo');
    fs.mkdirSync(dir);
    const chain = makeChain(dir);
    const before = snapshot(chain.all);
    const hub = newHub();
    const session = new Session({ mode: 'serve', version: 'test', recent: new MemoryRecent(), emit: () => undefined }, [], {
      recover: false,
      hub,
    });
    const ok = async <T>(channel: string, payload: unknown): Promise<T> => {
      const r = await session.handle(channel, payload);
      if (!r.ok) throw new Error(r.error);
      return r.value as T;
    };
    const relabel = async () => {
      const plan = await ok<{ id: string }>('plan', {
        action: 'relabel',
        top: `${host}:${chain.top}`,
        profile: { drivers: ['dac'], user: '+108', group: '+108', readonly: false, shareable: false },
      });
      const applied = await ok<{ ok?: boolean; journalId: string; changed: number }>('apply', { planId: plan.id });
      expect(applied.ok).not.toBe(false);
      expect(applied.changed).toBeGreaterThan(0);
      expect(snapshot(chain.all)).not.toEqual(before);
      return applied.journalId;
    };
    try {
      expect((await hub.add(url)).state).toBe('connected');
      await ok('scan', { paths: [dir], host });
      await relabel();
      const undone = await ok<{ ok?: boolean }>('undo', {});
      expect(undone.ok).not.toBe(false);
      expect(snapshot(chain.all)).toEqual(before);

      const id = await relabel();
      expect(hub.journalHost(id)).toBe(host);
      await ok('undo', { journalId: id });
      expect(snapshot(chain.all)).toEqual(before);
      expect(hub.lastJournal(host)).toBeNull();
    } finally {
      await session.close();
    }
  }, 120_000);
});
