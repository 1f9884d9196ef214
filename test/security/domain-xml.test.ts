// FINDING 2 — a domain XML written by the attacker. Its <disk> names root's file and its own
// <seclabel model='dac'> gives it to the attacker; root runs `diskchain relabel --domain` on it.
// A domain's sources never make their folders allowed.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { diskElement, domainXml } from '../libvirt/fixtures.js';
import {
  IS_ROOT,
  NOT_ROOT,
  expectNoDeviceOpened,
  expectUntouched,
  stateEnv,
  tracedDiskchain,
  useWorld,
  watch,
  writeAs,
} from './support.js';

const world = useWorld();

describe.skipIf(!IS_ROOT)(`domain XML from the attacker (${NOT_ROOT})`, () => {
  // FINDING 2: <source file='victim/secret.txt'> with a dac <seclabel> naming the attacker.
  it("relabel --domain att/dom.xml whose disk is root's file is refused; the victim is unchanged", () => {
    const w = world();
    const conf = path.join(w.base, 'qemu.conf');
    fs.writeFileSync(conf, 'user = "+107"\ngroup = "+107"\n', { mode: 0o644 });
    const label = `<seclabel model='dac' relabel='yes'><label>+${w.attacker.uid}:+${w.attacker.gid}</label></seclabel>`;
    const dom = path.join(w.att, 'dom.xml');
    writeAs(
      w.attacker,
      dom,
      domainXml([
        diskElement([{ file: w.victimSecret, format: 'raw' }], { end: 'terminated', seclabel: label }),
        diskElement([{ file: w.bobSecret, format: 'raw' }], { end: 'terminated', target: 'vdb', seclabel: label }),
      ]),
    );
    const x = watch(w);
    for (const extra of [[], ['--allow-root', w.att]]) {
      const r = tracedDiskchain(['relabel', '--domain', dom, ...extra], { ...stateEnv(w), DISKCHAIN_QEMU_CONF: conf });
      const output = r.stdout + r.stderr;
      expect(r.status, output).not.toBe(0);
      expect(r.stderr).toContain(w.victimSecret);
      expect(r.stderr).toMatch(/outside the allowed folders/);
      expectUntouched(x);
      expectNoDeviceOpened(r.trace);
    }
  });
});
