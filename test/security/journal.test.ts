// FINDING 3 — forged journals. Undo and recover put files back to the `from` state a journal
// line records: whoever can write a journal (an attacker-owned DISKCHAIN_STATE_DIR, or a forged
// file in root's own) would get any owner and mode onto any file, setuid root included.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { capturePath, type RawState } from '../../electron/node/change/state.js';
import { diskchain } from '../support/bin.js';
import {
  IS_ROOT,
  NOT_ROOT,
  expectNoDeviceOpened,
  expectUntouched,
  ownerArgs,
  qemuImgAs,
  stateEnv,
  tracedDiskchain,
  useWorld,
  watch,
  writeAs,
  type World,
} from './support.js';

const world = useWorld();

interface Forged {
  path: string;
  from: RawState;
  to: RawState;
}

/** A real relabel of an image in att, through the CLI; returns its journal file. */
function realJournal(w: World): string {
  qemuImgAs(w.attacker, w.att, ['create', '-q', '-f', 'qcow2', 'real.qcow2', '1M']);
  const r = diskchain(['relabel', '--driver', 'dac', ...ownerArgs(w.bob), '--allow-root', w.att, path.join(w.att, 'real.qcow2')], {
    env: stateEnv(w),
  });
  if (r.status !== 0) throw new Error(`the real relabel failed: ${r.stderr}`);
  const files = fs.readdirSync(w.state).filter((n) => n.endsWith('.jsonl'));
  if (files.length !== 1) throw new Error(`expected one journal in ${w.state}: ${files.join(', ')}`);
  return path.join(w.state, files[0]!);
}

/**
 * A journal in the real one's format (its begin line, its change line's shape) whose changes are
 * `changes`, ended by a commit or not ended at all (an interrupted run). Returns [file name, id, text].
 */
function forge(real: string, changes: Forged[], end: 'commit' | 'none'): { name: string; id: string; text: string } {
  const lines = fs
    .readFileSync(real, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  const begin = lines.find((l) => l.t === 'begin');
  const change = lines.find((l) => l.t === 'change');
  const commit = lines.find((l) => l.t === 'commit');
  if (!begin || !change || !commit) throw new Error(`unexpected journal format in ${real}`);
  const id = `${begin.id.slice(0, -6)}${randomBytes(3).toString('hex')}`;
  const out = [{ ...begin, id, count: changes.length }];
  changes.forEach((c, seq) => out.push({ ...change, seq, path: c.path, disk: c.path, from: c.from, to: c.to }));
  if (end === 'commit') out.push(commit);
  return { name: `${id}.jsonl`, id, text: out.map((l) => JSON.stringify(l)).join('\n') + '\n' };
}

/**
 * att/prog: the attacker's own copy of a program, 0755; the forged `from` makes it setuid+setgid
 * root. A copy of true(1), not of an interpreter: on the old code this test really makes it
 * setuid root, for a moment, on a shared machine.
 */
function setuidBait(w: World): Forged {
  const p = path.join(w.att, 'prog');
  fs.copyFileSync(fs.realpathSync('/usr/bin/true'), p);
  fs.chownSync(p, w.attacker.uid, w.attacker.gid);
  fs.chmodSync(p, 0o755);
  const now = capturePath(p);
  return { path: p, to: now, from: { ...now, uid: 0, gid: 0, mode: 0o106755 } };
}

/** root's secret as it is now, and a forged `from` that gives it to the attacker. */
function victimBait(w: World): Forged {
  const now = capturePath(w.victimSecret);
  return { path: w.victimSecret, to: now, from: { ...now, uid: w.attacker.uid, gid: w.attacker.gid, mode: 0o100666 } };
}

/**
 * A folder the attacker owns (0755) where nothing else is wrong: in root's journal folder made
 * 0755, outside /tmp, so that every folder above it is root's and writable by root alone.
 */
function attackerDir(w: World, name: string): string {
  fs.chmodSync(w.state, 0o755);
  const d = path.join(w.state, name);
  fs.mkdirSync(d);
  fs.chmodSync(d, 0o755);
  fs.chownSync(d, w.attacker.uid, w.attacker.gid);
  return d;
}

function sBits(p: string): number {
  return fs.statSync(p).mode & 0o6000;
}

describe.skipIf(!IS_ROOT)(`forged journals (${NOT_ROOT})`, () => {
  // FINDING 3(a): DISKCHAIN_STATE_DIR the attacker owns (or whose parent they own), holding the
  // attacker's forged journals (or nothing: root's own journal must not go there either).
  const attackerDirs: [string, (w: World, img: string) => string[]][] = [
    [
      'undo',
      (w) => {
        const j = forge(realJournal(w), [victimBait(w)], 'commit');
        writeAs(w.attacker, path.join(attackerDir(w, 'st'), j.name), j.text);
        return ['undo', j.id];
      },
    ],
    [
      'recover',
      (w) => {
        const j = forge(realJournal(w), [victimBait(w)], 'none');
        writeAs(w.attacker, path.join(attackerDir(w, 'st'), j.name), j.text);
        return ['recover'];
      },
    ],
    [
      'relabel',
      (w, img) => {
        attackerDir(w, 'st');
        return ['relabel', '--driver', 'dac', ...ownerArgs(w.attacker), '--allow-root', w.att, img];
      },
    ],
  ];
  it.each(attackerDirs)('%s refuses a journal folder the attacker owns, naming it', (_, setup) => {
    const w = world();
    const img = path.join(w.att, 'img.qcow2');
    qemuImgAs(w.attacker, w.att, ['create', '-q', '-f', 'qcow2', 'img.qcow2', '1M']);
    const args = setup(w, img);
    const x = watch(w, [img]);
    const stateDir = path.join(w.state, 'st');
    const r = tracedDiskchain(args, { DISKCHAIN_STATE_DIR: stateDir });
    const output = r.stdout + r.stderr;
    expect(r.status, output).not.toBe(0);
    expect(r.stderr).toContain(stateDir);
    expectUntouched(x);
    expectNoDeviceOpened(r.trace);
  });

  // FINDING 3(a): root's own private folder, but inside one the attacker may rename and replace.
  it('relabel refuses a root-owned journal folder whose parent the attacker owns, naming the parent', () => {
    const w = world();
    const img = path.join(w.att, 'img.qcow2');
    qemuImgAs(w.attacker, w.att, ['create', '-q', '-f', 'qcow2', 'img.qcow2', '1M']);
    const parent = attackerDir(w, 'sub');
    const stateDir = path.join(parent, 'state');
    fs.mkdirSync(stateDir, { mode: 0o700 });
    const x = watch(w, [img]);
    const r = tracedDiskchain(['relabel', '--driver', 'dac', ...ownerArgs(w.attacker), '--allow-root', w.att, img], {
      DISKCHAIN_STATE_DIR: stateDir,
    });
    expect(r.status, r.stdout + r.stderr).not.toBe(0);
    expect(r.stderr).toContain(parent);
    expectUntouched(x);
    expectNoDeviceOpened(r.trace);
  });

  // FINDING 3(b): a forged interrupted journal in root's own folder, then `diskchain recover`.
  it("recover of a forged interrupted journal sets no setuid/setgid bit and leaves root's file alone", () => {
    const w = world();
    const real = realJournal(w);
    const bait = setuidBait(w);
    const j = forge(real, [bait, victimBait(w)], 'none');
    fs.writeFileSync(path.join(w.state, j.name), j.text, { mode: 0o600 });
    const x = watch(w);
    const r = tracedDiskchain(['recover'], stateEnv(w));
    expect(sBits(bait.path), r.stdout + r.stderr).toBe(0);
    expectUntouched(x);
    expectNoDeviceOpened(r.trace);
  });

  // FINDING 3(b): a forged committed journal in root's own folder, then `diskchain undo ID`.
  it("undo of a forged committed journal sets no setuid/setgid bit and leaves root's file alone", () => {
    const w = world();
    const real = realJournal(w);
    const bait = setuidBait(w);
    const j = forge(real, [bait, victimBait(w)], 'commit');
    fs.writeFileSync(path.join(w.state, j.name), j.text, { mode: 0o600 });
    const x = watch(w);
    const r = tracedDiskchain(['undo', j.id], stateEnv(w));
    expect(sBits(bait.path), r.stdout + r.stderr).toBe(0);
    expectUntouched(x);
    expectNoDeviceOpened(r.trace);
  });

  // FINDING 3(c): the journal holds paths, owners and labels: root's alone to read.
  it('a journal made by a real relabel is mode 0600', () => {
    const w = world();
    qemuImgAs(w.attacker, w.att, ['create', '-q', '-f', 'qcow2', 'img.qcow2', '1M']);
    const x = watch(w);
    const r = tracedDiskchain(
      ['relabel', '--driver', 'dac', ...ownerArgs(w.bob), '--allow-root', w.att, path.join(w.att, 'img.qcow2')],
      stateEnv(w),
    );
    expect(r.status, r.stderr).toBe(0);
    const journals = fs.readdirSync(w.state).filter((n) => n.endsWith('.jsonl'));
    expect(journals).toHaveLength(1);
    expect((fs.statSync(path.join(w.state, journals[0]!)).mode & 0o777).toString(8)).toBe('600');
    expectUntouched(x);
    expectNoDeviceOpened(r.trace);
  });
});
