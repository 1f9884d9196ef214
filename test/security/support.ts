// The attacker's test bench: real unprivileged users, a folder they own next to root's and
// another user's private files, root's side run under strace (to prove no device was ever
// opened), exact before/after snapshots of everything outside the allowed folder, and a racer
// that swaps two names as the attacker while root works.
import { execFileSync, spawn, spawnSync, type ChildProcess, type SpawnSyncOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, expect } from 'vitest';
import { lsetxattr } from '../../electron/node/native/libc.js';
import { CLI_SOURCE, HELPER_SOURCE, nodeArgsFor, type Run } from '../support/bin.js';
import { snapshot, type FileSnapshot } from '../support/chain.js';

export const IS_ROOT = process.getuid?.() === 0;
/** Why the suite skips: it creates users, chowns, bind-mounts and traces root's processes. */
export const NOT_ROOT = 'root only: makes users, chowns, mounts, traces root';

// ---- users ------------------------------------------------------------------------------------

export interface TestUser {
  name: string;
  uid: number;
  gid: number;
}

/** useradd/userdel take a lock on /etc/passwd that other test files may hold for a moment. */
function withPasswdLock(cmd: string, args: string[]): void {
  for (let attempt = 0; ; attempt++) {
    const r = spawnSync(cmd, args, { encoding: 'utf8' });
    if (r.status === 0) return;
    if (attempt >= 40 || !/lock|try again/i.test(r.stderr)) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr.trim()}`);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
  }
}

/** A fresh user (own group, no home, no shell) named `prefix` + random hex. */
export function createUser(prefix: string): TestUser {
  const name = `${prefix}${randomBytes(4).toString('hex')}`;
  withPasswdLock('useradd', ['-M', '-U', '-s', '/usr/sbin/nologin', name]);
  const id = (flag: string) => Number(execFileSync('id', [flag, name], { encoding: 'utf8' }).trim());
  return { name, uid: id('-u'), gid: id('-g') };
}

export function removeUser(u: TestUser | undefined): void {
  if (u) withPasswdLock('userdel', [u.name]);
}

/** setpriv's arguments to become `u` with no supplementary groups and no capabilities. */
function becomeArgs(u: TestUser): string[] {
  return [`--reuid=${u.uid}`, `--regid=${u.gid}`, '--clear-groups', '--inh-caps=-all'];
}

/** Run a command as `u` (the attacker making files, links and images); throws on failure. */
export function asUser(u: TestUser, cmd: string, args: string[], input?: string): string {
  const r = spawnSync('setpriv', [...becomeArgs(u), cmd, ...args], {
    encoding: 'utf8',
    cwd: '/',
    input,
    env: { PATH: '/usr/bin:/bin', LANG: 'C' },
  });
  if (r.status !== 0) throw new Error(`as ${u.name}: ${cmd} ${args.join(' ')}: ${r.stderr.trim()}`);
  return r.stdout;
}

/** Write `text` to `file` as `u` (the file is theirs, made through their own permissions). */
export function writeAs(u: TestUser, file: string, text: string): void {
  asUser(u, 'sh', ['-c', 'cat > "$1"', 'sh', file], text);
}

export function symlinkAs(u: TestUser, target: string, link: string): void {
  asUser(u, 'ln', ['-s', target, link]);
}

/** qemu-img as the attacker, in `cwd` (relative names stay relative in the headers). */
export function qemuImgAs(u: TestUser, cwd: string, args: string[]): void {
  asUser(u, 'sh', ['-c', 'cd "$1" && shift && exec qemu-img "$@"', 'sh', cwd, ...args]);
}

// ---- the folders --------------------------------------------------------------------------------

export interface World {
  /** mkdtemp under /tmp, root 0755. */
  base: string;
  /** base/att: the attacker's folder (0755), the only allowed one. */
  att: string;
  /** base/victim: root 0700, with secret.txt (0600) and bin/tool (0755). */
  victim: string;
  victimSecret: string;
  victimTool: string;
  /** base/bob/private: bob's 0700 folder with secret.txt (0600). */
  bobPrivate: string;
  bobSecret: string;
  /**
   * Root's journal folder (0700), outside /tmp: every folder above a journal folder must be
   * root's and writable by root alone, and /tmp is writable by everyone.
   */
  state: string;
  attacker: TestUser;
  bob: TestUser;
}

/** Where root's journal folders go: root's, 0755, as is every folder above it. */
const STATE_PARENT = '/run';

/** Marks the victims carry, so that a removed or rewritten xattr shows in the snapshot. */
const MARKS: Record<string, string> = {
  'trusted.dctest.mark': 'victim',
  'user.dctest.mark': 'victim',
  'security.selinux': 'system_u:object_r:shadow_t:s0\0',
};

function mark(file: string): void {
  for (const [n, v] of Object.entries(MARKS)) lsetxattr(file, n, Buffer.from(v));
}

export function makeWorld(attacker: TestUser, bob: TestUser): World {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'dcsec-'));
  fs.chmodSync(base, 0o755);
  const att = path.join(base, 'att');
  fs.mkdirSync(att);
  fs.chmodSync(att, 0o755);
  fs.chownSync(att, attacker.uid, attacker.gid);
  const victim = path.join(base, 'victim');
  fs.mkdirSync(path.join(victim, 'bin'), { recursive: true, mode: 0o700 });
  fs.chmodSync(victim, 0o700);
  const victimSecret = path.join(victim, 'secret.txt');
  fs.writeFileSync(victimSecret, 'root secret\n');
  fs.chmodSync(victimSecret, 0o600);
  const victimTool = path.join(victim, 'bin/tool');
  fs.writeFileSync(victimTool, '#!/bin/sh\necho tool\n');
  fs.chmodSync(victimTool, 0o755);
  const bobPrivate = path.join(base, 'bob/private');
  fs.mkdirSync(bobPrivate, { recursive: true });
  fs.chmodSync(path.join(base, 'bob'), 0o755);
  fs.chmodSync(bobPrivate, 0o700);
  fs.chownSync(bobPrivate, bob.uid, bob.gid);
  const bobSecret = path.join(bobPrivate, 'secret.txt');
  fs.writeFileSync(bobSecret, 'bob secret\n');
  fs.chmodSync(bobSecret, 0o600);
  fs.chownSync(bobSecret, bob.uid, bob.gid);
  for (const f of [victim, victimSecret, victimTool, bobPrivate, bobSecret]) mark(f);
  execFileSync('setfacl', ['-m', 'u:65000:r', victimSecret]);
  const state = fs.mkdtempSync(path.join(STATE_PARENT, 'dcsec-state-'));
  return { base, att, victim, victimSecret, victimTool, bobPrivate, bobSecret, state, attacker, bob };
}

export function removeWorld(w: World | undefined): void {
  if (!w) return;
  // A bind mount a failed test left must not lead rm into the files mounted there.
  for (const m of mountsUnder(w.base).reverse()) spawnSync('umount', ['-l', m]);
  fs.rmSync(w.base, { recursive: true, force: true });
  fs.rmSync(w.state, { recursive: true, force: true });
}

/** Mount points at or under `dir` (from /proc/self/mountinfo, octal escapes decoded). */
export function mountsUnder(dir: string): string[] {
  const text = fs.readFileSync('/proc/self/mountinfo', 'utf8');
  const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => unescape(l.split(' ')[4]!))
    .filter((m) => m === dir || m.startsWith(dir + '/'));
}

const MAX_WATCHED = 2000;

/**
 * Everything outside the allowed folder that an attack could aim at: every entry under the base
 * but the attacker's folder's contents, plus the devices the races point at. The att folder itself is watched (its owner, mode and ACL are not the attacker's to gain).
 */
export function watchedPaths(w: World): string[] {
  const out: string[] = [];
  const walk = (dir: string, depth: number) => {
    for (const name of fs.readdirSync(dir).sort()) {
      const p = path.join(dir, name);
      if (out.length >= MAX_WATCHED) throw new Error(`more than ${MAX_WATCHED} files under ${w.base}`);
      out.push(p);
      const st = fs.lstatSync(p);
      if (st.isDirectory() && p !== w.att && depth < 8) walk(p, depth + 1);
    }
  };
  out.push(w.base);
  walk(w.base, 0);
  return [...out, '/dev/zero', '/dev/null'];
}

export interface Watch {
  paths: string[];
  before: Record<string, FileSnapshot>;
}

export function watch(w: World, extra: string[] = []): Watch {
  const paths = [...watchedPaths(w), ...extra];
  return { paths, before: snapshot(paths) };
}

export function snapshotNow(x: Watch): Record<string, FileSnapshot> {
  return snapshot(x.paths);
}

// ---- strace: proof that no device was opened -------------------------------------------------

/** Opened by name by node's own runtime; never by diskchain, and never with O_NONBLOCK. */
const RUNTIME_DEVICES = new Set(['/dev/null', '/dev/urandom', '/dev/random', '/dev/tty']);

function runtimeDevice(p: string): boolean {
  return RUNTIME_DEVICES.has(p) || /^\/dev\/pts\/\d+$/.test(p);
}

/** strace options: every open, in threads and children too, with the path of the descriptor it returned. */
function straceArgs(out: string): string[] {
  return ['-f', '-qq', '-y', '--seccomp-bpf', '-e', 'trace=open,openat,openat2', '-o', out];
}

export interface TraceReport {
  /** Successful opens seen (a trace with none means strace saw nothing: the proof would be empty). */
  opens: number;
  /** Successful opens that reached a device and are not the runtime's own. */
  devices: string[];
}

/**
 * Read an strace -f -y log: join each call split by another thread ("<unfinished ...>" then
 * "<... openat resumed>"), keep the successful ones, and list those that opened a device.
 *
 * What a descriptor is comes from its kernel path (/proc/PID/fd, which strace -y prints): a
 * device node is under /dev here (the attacker cannot mknod, the tests make no device nodes), and
 * that path names the file really opened, whatever name was asked for. Not strace -yy's
 * "<char M:N>": strace finds that by stat()ing the path again later, which a racer can point at
 * /dev by then (a regular file reported as a device). O_PATH descriptors reach no driver and do
 * not count.
 */
export function readTrace(file: string): TraceReport {
  const pending = new Map<string, string>();
  const report: TraceReport = { opens: 0, devices: [] };
  for (const raw of fs.readFileSync(file, 'utf8').split('\n')) {
    const m = /^(\d+)\s+(.*)$/.exec(raw);
    if (!m) continue;
    const [, pid, rest] = m as unknown as [string, string, string];
    let line: string;
    if (rest.endsWith('<unfinished ...>')) {
      pending.set(pid, rest.slice(0, -'<unfinished ...>'.length));
      continue;
    }
    const resumed = /^<\.\.\. (?:open|openat|openat2) resumed>(.*)$/.exec(rest);
    if (resumed) {
      line = (pending.get(pid) ?? '') + resumed[1];
      pending.delete(pid);
    } else line = rest;
    const call = /^(open|openat|openat2)\((.*)\)\s+=\s+(\d+)(?:<(.*)>)?\s*$/.exec(line);
    if (!call) continue;
    report.opens++;
    const args = call[2]!;
    const opened = call[4];
    if (/\bO_PATH\b/.test(args)) continue;
    // No path (strace could not read it): nothing proves it was no device.
    if (opened === undefined) {
      report.devices.push(`${pid} ${line} (descriptor path unknown)`);
      continue;
    }
    if (!opened.startsWith('/dev/')) continue;
    const asked = /"((?:[^"\\]|\\.)*)"/.exec(args)?.[1] ?? '';
    if (runtimeDevice(asked) && opened === asked && !/\bO_NONBLOCK\b/.test(args)) continue;
    report.devices.push(`${pid} ${line}`);
  }
  return report;
}

export interface TracedRun extends Run {
  trace: TraceReport;
}

function traceFile(): string {
  return path.join(os.tmpdir(), `dcsec-trace-${process.pid}-${randomBytes(4).toString('hex')}.txt`);
}

/** Run `cmd args` as root under strace and wait for it. */
export function traced(cmd: string, args: string[], opts: SpawnSyncOptions & { env?: NodeJS.ProcessEnv } = {}): TracedRun {
  const out = traceFile();
  try {
    const r = spawnSync('strace', [...straceArgs(out), cmd, ...args], {
      encoding: 'utf8',
      timeout: 150_000,
      maxBuffer: 256 << 20,
      ...opts,
      env: { ...process.env, ...opts.env },
    });
    if (r.error) throw r.error;
    return { status: r.status, signal: r.signal, stdout: String(r.stdout), stderr: String(r.stderr), trace: readTrace(out) };
  } finally {
    fs.rmSync(out, { force: true });
  }
}

/** `diskchain ARGS` from source, as root, under strace (the helper it starts is traced too). */
export function tracedDiskchain(args: string[], env: NodeJS.ProcessEnv = {}): TracedRun {
  return traced(process.execPath, [...nodeArgsFor(CLI_SOURCE), ...args], { env });
}

/** Run a TypeScript script of this folder in a fresh node, as root, under strace. */
export function tracedScript(script: string, args: string[], env: NodeJS.ProcessEnv = {}): TracedRun {
  return traced(process.execPath, [...nodeArgsFor(path.join(import.meta.dirname, script)), ...args], { env });
}

/**
 * The helper (as root, with the environment pkexec gives it) under strace: send request lines,
 * close its input, collect one JSON answer per line.
 */
export async function tracedHelper(
  lines: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ answers: any[]; stderr: string; trace: TraceReport }> {
  const out = traceFile();
  try {
    const child = spawn('strace', [...straceArgs(out), process.execPath, ...nodeArgsFor(HELPER_SOURCE)], {
      env: { ...process.env, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    for (const l of lines) child.stdin.write(l + '\n');
    child.stdin.end();
    await new Promise((resolve) => child.on('exit', resolve));
    const answers = stdout
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    return { answers, stderr, trace: readTrace(out) };
  } finally {
    fs.rmSync(out, { force: true });
  }
}

// ---- the racer ----------------------------------------------------------------------------------

// renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE) in bursts of `burst` exchanges (even: each
// burst ends with the names as they were), then a pause of up to `pause` seconds; counts on SIGTERM.
const RACER = `
import ctypes, os, random, signal, sys, time
libc = ctypes.CDLL(None, use_errno=True)
a, b = os.fsencode(sys.argv[1]), os.fsencode(sys.argv[2])
burst, pause = int(sys.argv[3]), float(sys.argv[4])
n = [0, 0]
def done(*_):
    sys.stdout.write("%d %d\\n" % (n[0], n[1])); sys.stdout.flush(); os._exit(0)
signal.signal(signal.SIGTERM, done)
sys.stdout.write("ready\\n"); sys.stdout.flush()
while True:
    for _ in range(burst):
        if libc.renameat2(-100, a, -100, b, 2) == 0: n[0] += 1
        else: n[1] += 1
    if pause > 0: time.sleep(random.random() * pause)
`;

/**
 * How the attacker races: 'tight' exchanges without a pause (the names are each way half the
 * time, every narrow window is hit); 'paced' bursts then waits up to 2 ms in the real state (most
 * operations see the real files, and some swap lands inside each step).
 */
export type RaceMode = 'tight' | 'paced';
const RACE_MODES: Record<RaceMode, [burst: number, pause: number]> = { tight: [2, 0], paced: [64, 0.002] };

export interface Racer {
  /** Stop it; resolves with the number of exchanges done (and failed). */
  stop(): Promise<{ swaps: number; failures: number }>;
  /** SIGKILL when still running (for finally blocks). */
  kill(): void;
}

/** Start exchanging `a` and `b` as `u` in the background; resolves once the loop runs. */
export async function startSwapRacer(u: TestUser, a: string, b: string, mode: RaceMode = 'tight'): Promise<Racer> {
  const [burst, pause] = RACE_MODES[mode];
  const child: ChildProcess = spawn('setpriv', [...becomeArgs(u), '/usr/bin/python3', '-c', RACER, a, b, String(burst), String(pause)], {
    cwd: '/',
    env: { PATH: '/usr/bin:/bin', LANG: 'C' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    out += d;
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    err += d;
  });
  // 'close', not 'exit': the counts may still be in the pipe when the process is gone.
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const check = () => (out.includes('ready\n') ? resolve() : undefined);
    child.stdout!.on('data', check);
    child.on('exit', () => reject(new Error(`the racer did not start: ${err.trim()}`)));
  });
  return {
    async stop() {
      child.kill('SIGTERM');
      await exited;
      const m = /(\d+) (\d+)\n/.exec(out.slice(out.indexOf('ready\n') + 6));
      if (!m) throw new Error(`the racer said nothing: ${err.trim()}`);
      return { swaps: Number(m[1]), failures: Number(m[2]) };
    },
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

// ---- output checks ------------------------------------------------------------------------------

/** C0 controls but the newline, DEL, and C1 controls: what a terminal may act on. */
// eslint-disable-next-line no-control-regex -- control characters are what this finds
export const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/;

// ---- per-file setup and the two assertions every test makes ------------------------------------

/**
 * The attacker and bob for the whole file, a fresh world for each test; everything removed
 * after. Returns the current test's world.
 */
export function useWorld(): () => World {
  let attacker: TestUser | undefined;
  let bob: TestUser | undefined;
  let world: World | undefined;
  beforeAll(() => {
    if (!IS_ROOT) return;
    attacker = createUser('dcatt');
    bob = createUser('dcbob');
  });
  beforeEach(() => {
    if (IS_ROOT) world = makeWorld(attacker!, bob!);
  });
  afterEach(() => {
    removeWorld(world);
    world = undefined;
  });
  afterAll(() => {
    removeUser(attacker);
    removeUser(bob);
  });
  return () => world!;
}

/** Nothing outside the allowed folder changed: owner, mode, ACLs, every xattr, identity. */
export function expectUntouched(x: Watch): void {
  expect(snapshotNow(x)).toEqual(x.before);
}

/** strace saw root's opens, and none of them reached a device. */
export function expectNoDeviceOpened(t: TraceReport): void {
  expect(t.opens, 'strace recorded no open at all').toBeGreaterThan(0);
  expect(t.devices, 'devices opened by root').toEqual([]);
}

/** The attacker as --user/--group. */
export function ownerArgs(u: TestUser): string[] {
  return ['--user', `+${u.uid}`, '--group', `+${u.gid}`];
}

/** Root's journal folder for the CLI and the helper. */
export function stateEnv(w: World): NodeJS.ProcessEnv {
  return { DISKCHAIN_STATE_DIR: w.state };
}
