// A real system bus, polkitd and polkit rules for the pkexec tests, started as root here (no
// systemd): what is already running is reused and left alone, what was started here is stopped.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export const ACTION = 'org.diskchain.helper.run';
export const RULES_FILE = '/etc/polkit-1/rules.d/00-diskchain-test.rules';
const POLKITD = '/usr/lib/polkit-1/polkitd';
const BUS_DIR = '/run/dbus';
const BUS_PID_FILE = path.join(BUS_DIR, 'pid');
const BUS_SOCKET = path.join(BUS_DIR, 'system_bus_socket');

/** Why the real pkexec path cannot be run here, or null. */
export function whyNoPkexec(): string | null {
  if (process.getuid?.() !== 0) return 'the pkexec tests set up polkit and a test user, which needs root';
  for (const f of ['/usr/bin/pkexec', POLKITD, '/usr/bin/dbus-daemon', '/usr/bin/pkcheck']) {
    if (!fs.existsSync(f)) return `${f} is missing (Debian packages pkexec, polkitd, dbus)`;
  }
  return null;
}

/** Poll `ok` every 100 ms until it is true, for at most `ms`; throw with `what` otherwise. */
export async function waitFor(what: string, ok: () => boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Whether `name` is owned on the system bus; null when there is no system bus to ask. */
function nameOwned(name: string): boolean | null {
  const r = spawnSync(
    'dbus-send',
    ['--system', '--print-reply', '--dest=org.freedesktop.DBus', '/', 'org.freedesktop.DBus.NameHasOwner', `string:${name}`],
    { encoding: 'utf8', timeout: 5_000 },
  );
  if (r.status !== 0) return null;
  return /boolean true/.test(r.stdout);
}

function alive(pid: number): boolean {
  try {
    // A zombie waiting for init to reap it is gone as far as we are concerned.
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

export interface PolkitServices {
  busPid: number | null;
  polkitd: ChildProcess | null;
  polkitdLog: () => string;
}

/** The system bus and polkitd: reused when running, else started (dbus-daemon forks, polkitd is our child). */
export async function startPolkit(): Promise<PolkitServices> {
  let busPid: number | null = null;
  if (nameOwned('org.freedesktop.DBus') === null) {
    fs.mkdirSync(BUS_DIR, { recursive: true, mode: 0o755 });
    // A bus that did not answer is not running: its pid file and socket would stop a new one.
    if (fs.existsSync(BUS_PID_FILE)) {
      const old = Number(fs.readFileSync(BUS_PID_FILE, 'utf8').trim());
      if (Number.isSafeInteger(old) && old > 0 && alive(old))
        throw new Error(`dbus-daemon ${old} is running but the system bus does not answer`);
      fs.rmSync(BUS_PID_FILE, { force: true });
      fs.rmSync(BUS_SOCKET, { force: true });
    }
    const r = spawnSync('dbus-daemon', ['--system', '--fork', '--print-pid'], { encoding: 'utf8', timeout: 10_000 });
    if (r.status !== 0) throw new Error(`dbus-daemon --system failed: ${r.stderr}`);
    busPid = Number(r.stdout.trim().split('\n')[0]);
    await waitFor('the system bus', () => nameOwned('org.freedesktop.DBus') === true);
  }
  let polkitd: ChildProcess | null = null;
  let log = '';
  if (!nameOwned('org.freedesktop.PolicyKit1')) {
    polkitd = spawn(POLKITD, ['--no-debug'], { stdio: ['ignore', 'pipe', 'pipe'] });
    for (const s of [polkitd.stdout!, polkitd.stderr!])
      s.on('data', (d: Buffer) => {
        log = (log + d.toString()).slice(-4000);
      });
    await waitFor('polkitd on the system bus', () => nameOwned('org.freedesktop.PolicyKit1') === true);
  }
  return { busPid, polkitd, polkitdLog: () => log };
}

/** Stop what startPolkit started (and only that). */
export async function stopPolkit(s: PolkitServices | undefined): Promise<void> {
  if (s?.polkitd && s.polkitd.exitCode === null && s.polkitd.signalCode === null) {
    const exited = new Promise((r) => s.polkitd!.once('exit', r));
    s.polkitd.kill('SIGTERM');
    await exited;
  }
  if (s?.busPid) {
    const pid = s.busPid;
    if (alive(pid)) process.kill(pid, 'SIGTERM');
    await waitFor(`dbus-daemon ${pid} to exit`, () => !alive(pid));
    // dbus-daemon leaves both behind on SIGTERM, and a stale pid file stops the next one.
    fs.rmSync(BUS_PID_FILE, { force: true });
    fs.rmSync(BUS_SOCKET, { force: true });
  }
}

/** The rules file: `result` (polkit.Result.YES or NO) for our action, for `user` only. */
export function writeRules(user: string, result: 'YES' | 'NO'): void {
  const text = `// diskchain's pkexec test: ${result} for ${ACTION}, for ${user} only.
polkit.addRule(function (action, subject) {
  if (action.id == "${ACTION}" && subject.user == "${user}") return polkit.Result.${result};
});
`;
  // A rename, so polkitd never reads a half-written file.
  const tmp = `${RULES_FILE}.tmp`;
  fs.writeFileSync(tmp, text, { mode: 0o644 });
  fs.renameSync(tmp, RULES_FILE);
}

export function removeRules(): void {
  fs.rmSync(RULES_FILE, { force: true });
}

/**
 * pkcheck's answer for our action and process `pid`: 0 authorised, 1 not authorised,
 * 2 authentication needed (no rule: the policy's auth_admin).
 */
export function pkcheck(pid: number): number | null {
  return spawnSync('pkcheck', ['--action-id', ACTION, '--process', String(pid)], { encoding: 'utf8', timeout: 10_000 }).status;
}

/** `pkaction --verbose` for our action as polkitd has loaded it, each field's values (null when it has not). */
export function pkaction(): Record<string, string[]> | null {
  const r = spawnSync('pkaction', ['--verbose', '--action-id', ACTION], { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0) return null;
  const out: Record<string, string[]> = {};
  for (const line of r.stdout.split('\n')) {
    const m = /^\s+([a-z_ ]+):\s+(.*)$/.exec(line);
    if (m) (out[m[1]!.trim()] ??= []).push(m[2]!);
  }
  return out;
}
