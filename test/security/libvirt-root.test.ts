// REVIEW R1 — libvirt's image folder is an allowed root with no ownership check, also for a
// pkexec caller. The attacker asked the helper (through pkexec) for an access fix and then a
// relabel of root's 0600 image in /var/lib/libvirt/images/private (root 0700), naming
// themselves as the VM's user: they got an ACL entry on root's folder and the image chowned to
// them. Through pkexec, files in libvirt's folders may go to libvirt's qemu user only, and root's
// folders there open up for nobody else (also when the image in them is the caller's own).
// Run in a private mount namespace: a tmpfs on /var/lib, an overlay on /etc for qemu.conf.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { nodeArgsFor } from '../support/bin.js';
import type { Job, Outcome } from './libvirt-root-run.js';
import { refusalText } from './pkexec-caller.js';
import { IS_ROOT, NOT_ROOT, expectNoDeviceOpened, useWorld, type World } from './support.js';

const world = useWorld();

/** libvirt's qemu user and group as the namespace's qemu.conf names them (no such account needed). */
const QEMU = 107;

// Inside the namespace only: /var/lib a root 0755 tmpfs (as the host's is: world-writable would
// be refused for itself), /etc an overlay on the host's whose upper layer holds qemu.conf.
const NAMESPACE_SETUP = `set -e
mount -t tmpfs -o mode=0755 diskchain-test /var/lib
mkdir /var/lib/.etc-upper /var/lib/.etc-work
mount -t overlay diskchain-test -o lowerdir=/etc,upperdir=/var/lib/.etc-upper,workdir=/var/lib/.etc-work /etc
mkdir -p /etc/libvirt
printf 'user = "+%s"\\ngroup = "+%s"\\n' "$QEMU" "$QEMU" > /etc/libvirt/qemu.conf
exec "$@"`;

/** libvirt-root-run.ts in a fresh private mount namespace, for the attacker's uid. */
function runInNamespace(w: World, imageOwner: Job['imageOwner'], relabel: boolean): Outcome {
  const job: Job = { uid: w.attacker.uid, gid: w.attacker.gid, qemu: QEMU, state: w.state, imageOwner, relabel };
  const r = spawnSync(
    'unshare',
    [
      '-m',
      '--propagation',
      'private',
      'sh',
      '-c',
      NAMESPACE_SETUP,
      'sh',
      process.execPath,
      ...nodeArgsFor(path.join(import.meta.dirname, 'libvirt-root-run.ts')),
      JSON.stringify(job),
    ],
    { encoding: 'utf8', timeout: 150_000, maxBuffer: 64 << 20, env: { ...process.env, QEMU: String(QEMU) } },
  );
  if (r.status !== 0) throw new Error(`libvirt-root-run.ts failed (${r.status ?? r.signal}): ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Outcome;
}

const THROUGH_PKEXEC = /through pkexec/;

describe.skipIf(!IS_ROOT)(`R1 root's image in libvirt's folder, through pkexec (${NOT_ROOT})`, () => {
  it("the caller gets neither root's image nor an ACL entry on root's folder; the qemu user may get the image", () => {
    const out = runInNamespace(world(), 'root', true);
    const relabel = out.relabel!;
    const control = out.control!;
    // Root itself may do both: the refusals below are the caller's.
    expect(refusalText(out.accessFix.asRoot)).toBeNull();
    expect(refusalText(relabel.asRoot)).toBeNull();
    expect(refusalText(out.accessFix.applied) ?? 'accepted').toMatch(THROUGH_PKEXEC);
    expect(refusalText(relabel.planned) ?? 'accepted').toMatch(THROUGH_PKEXEC);
    expect(refusalText(relabel.applied) ?? 'accepted').toMatch(THROUGH_PKEXEC);
    expect(out.after).toEqual(out.before);
    for (const a of [out.accessFix, relabel, control]) expectNoDeviceOpened(a.trace);

    // The control: libvirt's qemu user may be given the image, and nothing else changes.
    expect(refusalText(control.planned)).toBeNull();
    expect(control.applied.result).toMatchObject({ ok: true, changed: 1 });
    expect(out.controlled[out.img]).toMatchObject({ uid: QEMU, gid: QEMU });
    expect({ ...out.controlled, [out.img]: null }).toEqual({ ...out.before, [out.img]: null });
  }, 180_000);

  // The image needs no new owner here (root copied the caller's image in): the access fix is
  // only the ACL entry that would let the caller into root's 0700 folder.
  it("the caller's own image in root's folder: the access fix adds no ACL entry to root's folder", () => {
    const out = runInNamespace(world(), 'caller', false);
    expect(refusalText(out.accessFix.asRoot)).toBeNull();
    expect(out.accessFix.asRoot.result.access.folders.map((f: { path: string }) => f.path)).toEqual([out.priv]);
    const why = refusalText(out.accessFix.applied) ?? 'accepted';
    expect(why).toContain(out.priv);
    expect(why).toMatch(/does not own/);
    expect(out.afterAccessFix).toEqual(out.before);
    expectNoDeviceOpened(out.accessFix.trace);
  }, 180_000);
});
