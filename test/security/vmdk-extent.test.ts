// FINDING 8 — VMDK extents. A descriptor is text the attacker writes; its extent lines name any
// file. qemu opens every extent as the VM, so relabelling the descriptor alone would make a VM
// that cannot start, and relabelling its extents would give away root's file: refuse, and say why.
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  IS_ROOT,
  NOT_ROOT,
  expectNoDeviceOpened,
  expectUntouched,
  ownerArgs,
  stateEnv,
  tracedDiskchain,
  useWorld,
  watch,
  writeAs,
  type World,
} from './support.js';

const world = useWorld();

function descriptor(extent: string): string {
  return [
    '# Disk DescriptorFile',
    'version=1',
    'CID=fffffffe',
    'parentCID=ffffffff',
    'createType="monolithicFlat"',
    '',
    '# Extent description',
    `RW 2048 FLAT "${extent}" 0`,
    '',
    '# The Disk Data Base',
    '#DDB',
    'ddb.virtualHWVersion = "4"',
    '',
  ].join('\n');
}

describe.skipIf(!IS_ROOT)(`vmdk extents outside the allowed folder (${NOT_ROOT})`, () => {
  // FINDING 8: att/d.vmdk whose FLAT extent is root's secret, by absolute and by relative name.
  it.each([
    ['absolute', (w: World) => w.victimSecret],
    ['relative', (w: World) => path.relative(w.att, w.victimSecret)],
  ])("relabel of a descriptor whose extent is root's file (%s name) is refused, naming the extent", (_, name) => {
    const w = world();
    const vmdk = path.join(w.att, 'd.vmdk');
    writeAs(w.attacker, vmdk, descriptor(name(w)));
    const x = watch(w, [vmdk]);
    const r = tracedDiskchain(['relabel', '--driver', 'dac', ...ownerArgs(w.attacker), '--allow-root', w.att, vmdk], stateEnv(w));
    const output = r.stdout + r.stderr;
    expect(r.status, output).not.toBe(0);
    expect(r.stderr).toContain(w.victimSecret);
    expectUntouched(x);
    expectNoDeviceOpened(r.trace);
  });
});
