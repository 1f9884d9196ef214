// One test file at a time may install the helper into the system (/usr/libexec/diskchain,
// /etc/polkit-1, /etc/sudoers.d): the pkexec and the remote sudo suites both do, and vitest runs
// files, and projects, side by side. A folder made atomically is the lock; its owner's pid inside
// lets a later run take over a lock whose process died.
import * as fs from 'node:fs';

const LOCK = '/run/diskchain-test-system-install.lock';
const WAIT_MS = 15 * 60_000;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function takeOver(): boolean {
  let pid = NaN;
  try {
    pid = Number(fs.readFileSync(`${LOCK}/pid`, 'utf8'));
  } catch {
    return false; // being made or removed right now: wait
  }
  if (Number.isInteger(pid) && alive(pid)) return false;
  fs.rmSync(LOCK, { recursive: true, force: true });
  return true;
}

/** Wait for the system install lock; returns what releases it. */
export async function lockSystemInstall(): Promise<() => void> {
  const until = Date.now() + WAIT_MS;
  for (;;) {
    try {
      fs.mkdirSync(LOCK, { mode: 0o700 });
      fs.writeFileSync(`${LOCK}/pid`, String(process.pid));
      return () => fs.rmSync(LOCK, { recursive: true, force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    if (takeOver()) continue;
    if (Date.now() > until) throw new Error(`${LOCK} still held after ${WAIT_MS / 60_000} minutes`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
