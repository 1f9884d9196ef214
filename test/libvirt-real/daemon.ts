// The real libvirtd 11.3 (qemu 10, TCG) from bookworm-backports, in the root that
// scripts/libvirt-root.sh builds. It runs chrooted in a private mount namespace (unshare -m), so
// /proc, /sys, /dev, a fresh /run and the work folder are mounted for it alone and vanish with
// it; virsh joins that namespace with nsenter. The work folder is mounted at the same path inside,
// so libvirt and the host name every file alike.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const SCRIPT = path.resolve(import.meta.dirname, '../../scripts/libvirt-root.sh');
// debootstrap plus qemu and libvirt: minutes on a good network; the cached root takes a second.
const BUILD_MS = 40 * 60_000;

/** The built root, or why it could not be built (the suite then skips with that one line). */
export function ensureRoot(): { root: string } | { skip: string } {
  if (process.getuid?.() !== 0) return { skip: 'needs root (chroot, mounts)' };
  const r = spawnSync('bash', [SCRIPT, 'build'], { encoding: 'utf8', timeout: BUILD_MS, stdio: ['ignore', 'pipe', 'pipe'] });
  const root = r.stdout.trim().split('\n').pop() ?? '';
  if (r.status === 0 && fs.existsSync(path.join(root, 'usr/sbin/libvirtd'))) return { root };
  const last = r.stderr.trim().split('\n').filter(Boolean).pop() ?? r.error?.message ?? `exit ${r.status}`;
  return { skip: `the libvirt root could not be built (${last})` };
}

export interface Daemon {
  root: string;
  /** Run virsh inside the daemon's namespace and root. */
  virsh(...args: string[]): { status: number | null; stdout: string; stderr: string };
  /**
   * `virsh create XML` (a transient domain: start, and gone after destroy) of the domain `name`,
   * calling `atQemuStart` while qemu is held after libvirt's labelling (not called when libvirt
   * fails before it runs qemu).
   */
  start(xml: string, name: string, atQemuStart: () => void): Promise<{ status: number | null; stderr: string }>;
  /** Run any command there (e.g. virt-xml-validate). */
  inside(cmd: string[]): { status: number | null; stdout: string; stderr: string };
  stop(): Promise<void>;
}

const MOUNTS = `
set -eu
R=$1 W=$2
mount -t proc proc "$R/proc"
mount --rbind /sys "$R/sys"
mount --rbind /dev "$R/dev"
mount -t tmpfs -o mode=755 tmpfs "$R/run"
mkdir -p "$R/run/libvirt" "$R$W"
mount --bind "$W" "$R$W"
exec chroot "$R" /usr/sbin/libvirtd
`;

/** Start libvirtd with `work` shared (the qemu wrapper's handshake files go in work/handshake). */
export async function startDaemon(root: string, work: string): Promise<Daemon> {
  const handshake = path.join(work, 'handshake');
  // qemu (and so the wrapper) runs as libvirt-qemu.
  fs.mkdirSync(handshake, { recursive: true });
  fs.chmodSync(work, 0o755);
  fs.chmodSync(handshake, 0o777);
  fs.writeFileSync(path.join(root, 'etc/diskchain-handshake'), handshake + '\n');
  // Domains left defined by an interrupted run would start with the daemon.
  for (const f of fs.readdirSync(path.join(root, 'etc/libvirt/qemu'))) {
    if (f.endsWith('.xml')) fs.rmSync(path.join(root, 'etc/libvirt/qemu', f));
  }
  const log: string[] = [];
  // unshare and chroot exec in place, so the child's pid is libvirtd's.
  const child: ChildProcess = spawn('unshare', ['-m', '--propagation', 'private', 'sh', '-c', MOUNTS, 'sh', root, work], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d) => log.push(String(d)));
  child.stderr!.on('data', (d) => log.push(String(d)));
  const pid = child.pid!;
  const inside = (cmd: string[]) => {
    const r = spawnSync('nsenter', ['-t', String(pid), '-m', '-r', '-w', ...cmd], { encoding: 'utf8', timeout: 60_000 });
    return { status: r.status, stdout: String(r.stdout), stderr: String(r.stderr) };
  };
  const virsh = (...args: string[]) => inside(['virsh', '-q', '-c', 'qemu:///system', ...args]);
  // The socket appears once the daemon is ready; the first start also probes qemu's capabilities.
  // A test process that dies leaves no daemon behind (its namespace and mounts go with it).
  const kill = () => child.kill('SIGKILL');
  process.once('exit', kill);
  const deadline = Date.now() + 180_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`libvirtd exited ${child.exitCode}: ${log.join('')}`);
    if (virsh('version').status === 0) break;
    if (Date.now() > deadline) {
      kill();
      throw new Error(`libvirtd did not answer within 180 s: ${log.join('')}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  const start = async (xml: string, name: string, atQemuStart: () => void) => {
    const p = spawn('nsenter', ['-t', String(pid), '-m', '-r', '-w', 'virsh', '-q', '-c', 'qemu:///system', 'create', xml], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    p.stderr!.on('data', (d) => (stderr += String(d)));
    const done = new Promise<number | null>((r) => p.once('exit', (c) => r(c)));
    const ready = path.join(handshake, `${name}.ready`);
    let exited = false;
    void done.then(() => (exited = true));
    while (!exited && !fs.existsSync(ready)) await new Promise((r) => setTimeout(r, 50));
    if (fs.existsSync(ready)) {
      try {
        atQemuStart();
      } finally {
        fs.writeFileSync(path.join(handshake, `${name}.go`), '');
      }
    }
    const status = await done;
    for (const f of [ready, path.join(handshake, `${name}.go`)]) fs.rmSync(f, { force: true });
    return { status, stderr };
  };
  const stop = async () => {
    for (const name of virsh('list', '--name').stdout.split('\n').filter(Boolean)) virsh('destroy', name);
    const gone = new Promise<void>((r) => (child.exitCode !== null ? r() : child.once('exit', () => r())));
    child.kill('SIGTERM');
    await Promise.race([gone, new Promise((r) => setTimeout(r, 15_000))]);
    if (child.exitCode === null) kill();
    await gone;
    process.off('exit', kill);
  };
  return { root, virsh, start, inside, stop };
}
