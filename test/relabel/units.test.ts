// Smaller pieces: owner parsing, labels, boot time, allowed folders, the journal, failures.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hostBootTime, sameBoot } from '../../electron/node/core/boottime.js';
import { profileRoots } from '../../electron/node/change/profile-roots.js';
import { execute, recoverAll } from '../../electron/node/change/engine.js';
import { acquireLock, isJournalId, newJournalId, readAll, readJournal, summarize, unfinished } from '../../electron/node/change/journal.js';
import { bootTimeFor } from '../../electron/node/change/verify.js';
import { randomImageLabel } from '../../electron/node/libvirt/image-label.js';
import { parseGroup, parseOwnership, parseUser } from '../../electron/node/libvirt/owner.js';
import { planChangesDetailed } from '../../electron/node/relabel/plan.js';
import { listJournal } from '../../electron/node/helper/api.js';
import { planChange } from '../../electron/node/relabel/index.js';
import { tempDir } from '../support/qemu.js';
import { libvirtAttrs, makeChain, owner, profile, setContext, snapshot, type Chain } from '../support/chain.js';
import { stateDir } from '../support/state.js';

describe('owners as libvirt parses them', () => {
  it('+N is a number, a name is looked up, an unknown all-digit name is a number', () => {
    expect(parseUser('+107')).toBe(107);
    expect(parseUser('root')).toBe(0);
    expect(parseUser('4242')).toBe(4242);
    expect(parseGroup('kvm')).toBe(107);
    expect(parseGroup('+0')).toBe(0);
    expect(() => parseUser('no-such-user-here')).toThrow(/Failed to parse user/);
    expect(() => parseUser('+x')).toThrow();
    expect(parseOwnership('+1234:+1235')).toEqual({ uid: 1234, gid: 1235 });
    expect(parseOwnership('root:kvm')).toEqual({ uid: 0, gid: 107 });
  });

  it('image labels have two distinct categories, lower first, within c0..c1023', () => {
    for (let i = 0; i < 200; i++) {
      const m = /^system_u:object_r:svirt_image_t:s0:c(\d+),c(\d+)$/.exec(randomImageLabel())!;
      expect(Number(m[1])).toBeLessThan(Number(m[2]));
      expect(Number(m[2])).toBeLessThan(1024);
    }
  });
});

describe('boot time', () => {
  it("adopts the preview's value within one second (libvirt's /proc/uptime rounding), not beyond", () => {
    const own = Number(hostBootTime());
    expect(bootTimeFor(String(own + 1))).toBe(String(own + 1));
    expect(bootTimeFor(String(own - 1))).toBe(String(own - 1));
    expect(bootTimeFor(String(own + 5))).toBe(String(own));
    expect(bootTimeFor('garbage')).toBe(String(own));
  });

  it('a record one second either way of the boot time counts as this boot, two seconds off does not', () => {
    const own = hostBootTime();
    expect(sameBoot(own, own)).toBe(true);
    // Within one second of the boot time counts whatever libvirt's source was (utmp or procfs).
    expect(sameBoot(String(Number(own) + 1), own)).toBe(true);
    // Two seconds from both this boot's time and the kernel's btime (which sameBoot also accepts).
    const btime = Number(/^btime (\d+)$/m.exec(fs.readFileSync('/proc/stat', 'latin1'))![1]);
    expect(sameBoot(String(Math.min(Number(own), btime) - 2), own)).toBe(false);
    expect(sameBoot(null, own)).toBe(false);
  });
});

describe('allowed folders', () => {
  it('the top folder and /var/lib/libvirt/images (when it exists) count; / and system folders never do', () => {
    const t = tempDir('diskchain-roots-');
    try {
      const r = profileRoots(profile({ allowRoots: ['/', '/usr/lib', '/etc', 'relative', '/no/such/dir'] }), [path.join(t.dir, 'x.qcow2')]);
      expect(r.roots).toContain(t.dir);
      expect(r.roots).not.toContain('/');
      expect(r.refusals.map((x) => x.path)).toEqual(['/', '/usr/lib', '/etc', 'relative', '/no/such/dir']);
      // A top directly in / or /tmp does not make them allowed.
      expect(profileRoots(profile(), ['/x.qcow2', '/tmp/x.qcow2']).roots).not.toContain('/');
      // Folders that came with what was opened (a scanned /tmp, a domain's cdrom folder) are
      // passed over when they cannot count; they do not refuse the plan as --allow-root does.
      const opened = profileRoots(profile({ openedFolders: ['/tmp', '/usr/share', '/no/such/dir', t.dir] }), [path.join(t.dir, 'x.qcow2')]);
      expect(opened.refusals).toEqual([]);
      expect(opened.roots).toContain(t.dir);
      expect(opened.roots).not.toContain('/tmp');
      expect(opened.roots).not.toContain('/usr/share');
    } finally {
      t.cleanup();
    }
  });
});

describe('journal', () => {
  let tmp: { dir: string; cleanup: () => void };
  let state: string;
  let chain: Chain;
  beforeEach(() => {
    tmp = tempDir('diskchain-journal-');
    state = stateDir();
    process.env.DISKCHAIN_STATE_DIR = state;
    chain = makeChain(tmp.dir);
    setContext(chain.all);
  });
  afterEach(() => {
    delete process.env.DISKCHAIN_STATE_DIR;
    delete process.env.DISKCHAIN_TEST_FAIL_AT;
    tmp.cleanup();
  });

  function run() {
    const { plan, changes } = planChangesDetailed('relabel', [chain.top], profile());
    return execute(changes, { dir: state, kind: 'relabel', tops: plan.tops!, bootTime: plan.bootTime, allowedRoots: plan.allowedRoots! });
  }

  it('ids sort in order and name nothing but journals', () => {
    const a = newJournalId(new Date(Date.UTC(2025, 0, 2, 3, 4, 5, 6)));
    expect(a).toMatch(/^20250102-030405006-[0-9a-f]{6}$/);
    expect(isJournalId(a)).toBe(true);
    expect(isJournalId('../../etc/passwd')).toBe(false);
  });

  it('writes a begin line, one synced line per change and a commit; the journal is private', () => {
    const r = run();
    expect(r.ok).toBe(true);
    const j = readAll(state)[0]!;
    expect(j.begin).toMatchObject({ t: 'begin', kind: 'relabel', count: 5, tops: [chain.top] });
    expect(j.changes.map((c) => c.path)).toEqual(chain.all);
    expect(j.changes[0]!.from.uid).toBe(0);
    expect(j.changes[0]!.to.uid).toBe(107);
    expect(j.end?.t).toBe('commit');
    expect(fs.statSync(state).mode & 0o777).toBe(0o700);
    expect(fs.statSync(j.file).mode & 0o777).toBe(0o600);
  });

  it("summarizes a run with its changed files' paths, each once, in journal order, at most 50", () => {
    expect(run().ok).toBe(true);
    const j = readAll(state)[0]!;
    expect(summarize([j])[0]!.paths).toEqual(chain.all);
    // A run over a big pool: History lists the first 50 files, not thousands.
    const many = Array.from({ length: 60 }, (_, i) => ({ ...j.changes[i % j.changes.length]!, path: `/pool/disk${i}.qcow2` }));
    const again = [...j.changes, ...j.changes];
    expect(summarize([{ ...j, changes: again }])[0]!.paths).toEqual(chain.all);
    expect(summarize([{ ...j, changes: many }])[0]!.paths).toEqual(many.slice(0, 50).map((c) => c.path));
  });

  it('an injected failure in the middle of a file rolls everything back and says so', () => {
    const before = snapshot(chain.all);
    process.env.DISKCHAIN_TEST_FAIL_AT = '2:2'; // mid.qcow2, after its first change
    const r = run();
    expect(r).toMatchObject({ ok: false, rolledBack: true, changed: 0 });
    expect(r.message).toMatch(/the 3 file\(s\) changed so far were put back/);
    expect(snapshot(chain.all)).toEqual(before);
    expect(summarize(readAll(state)).map((s) => s.status)).toEqual(['rolled-back']);
  });

  it('recovers an interrupted run; a torn last line and later changes by others are respected', () => {
    const before = snapshot(chain.all);
    expect(run().ok).toBe(true);
    const file = readAll(state)[0]!.file;
    // Make it look killed: drop the commit line and leave half a line behind.
    const lines = fs.readFileSync(file, 'utf8').trim().split('\n');
    fs.writeFileSync(file, lines.slice(0, -1).join('\n') + '\n{"t":"change","seq":99,"pa');
    expect(unfinished(state)).toEqual([file]);
    expect(readJournal(file)!.changes).toHaveLength(5);
    expect(listJournal()[0]!.status).toBe('interrupted');
    // Someone else changed the owner of mid.qcow2 meanwhile: that is left alone.
    fs.chownSync(chain.mid, 5, 5);
    const r = recoverAll(state);
    expect(r.recovered).toHaveLength(1);
    expect(r.conflicts).toEqual([{ path: chain.mid, message: expect.stringMatching(/owner is 5:5/) }]);
    const after = snapshot(chain.all);
    for (const f of [chain.top, chain.topData, chain.base, chain.baseData]) expect(after[f]).toEqual(before[f]);
    expect(owner(chain.mid)).toBe('5:5');
    expect(after[chain.mid]!.xattrs).toEqual(before[chain.mid]!.xattrs);
    expect(libvirtAttrs(chain.top)).toEqual({});
    expect(unfinished(state)).toEqual([]);
    expect(listJournal()[0]!.status).toBe('recovered');
  });

  it('a journal killed while writing its first line is dropped by recovery', () => {
    fs.mkdirSync(state, { recursive: true });
    const f = path.join(state, `${newJournalId()}.jsonl`);
    fs.writeFileSync(f, '{"t":"beg');
    expect(recoverAll(state).recovered).toEqual([]);
    expect(fs.existsSync(f)).toBe(false);
  });

  it('an interrupted run blocks new changes until recovered', () => {
    expect(run().ok).toBe(true);
    const file = readAll(state)[0]!.file;
    const lines = fs.readFileSync(file, 'utf8').trim().split('\n');
    fs.writeFileSync(file, lines.slice(0, -1).join('\n') + '\n');
    const { changes, plan } = planChangesDetailed('relabel', [chain.top], profile());
    const r = execute(changes, {
      dir: state,
      kind: 'relabel',
      tops: plan.tops!,
      bootTime: plan.bootTime,
      allowedRoots: plan.allowedRoots!,
    });
    expect(r.ok).toBe(false);
    expect(r.message).toMatch(/diskchain recover/);
  });

  it('the lock is taken over from a dead process and waits for a live one', async () => {
    fs.mkdirSync(state, { recursive: true });
    const child = spawn('sleep', ['30']);
    try {
      fs.writeFileSync(path.join(state, 'lock'), String(child.pid));
      expect(() => acquireLock(state, 100)).toThrow(/another diskchain process/);
    } finally {
      child.kill('SIGKILL');
      await new Promise((r) => child.on('exit', r));
    }
    const release = acquireLock(state, 100);
    expect(fs.readFileSync(path.join(state, 'lock'), 'utf8')).toBe(String(process.pid));
    release();
    expect(fs.existsSync(path.join(state, 'lock'))).toBe(false);
  });

  it('a setuid file is never a target', () => {
    fs.chmodSync(chain.base, 0o4755);
    const plan = planChange('relabel', chain.top, profile());
    expect(plan.refusals).toEqual([{ path: chain.base, message: expect.stringMatching(/setuid/) }]);
  });
});
