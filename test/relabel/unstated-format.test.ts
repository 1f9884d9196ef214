// A domain disk without <driver type>: libvirt opens the top as raw and never probes it, so the
// backing file its qcow2 header names is neither handed to qemu nor labelled. Relabel with that
// domain plans the top alone; the same XML with type='qcow2' plans the whole chain.
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDomainXml } from '../../electron/node/libvirt/domain-xml.js';
import { profileFor } from '../../electron/node/libvirt/index.js';
import { planChanges } from '../../electron/node/relabel/plan.js';
import type { VmProfile } from '../../shared/plan.js';
import { diskchain } from '../support/bin.js';
import { qemuImg, tempDir } from '../support/qemu.js';
import { stateDir } from '../support/state.js';
import { diskElement, domainXml, write } from '../libvirt/fixtures.js';

let tmp: { dir: string; cleanup: () => void };
let top: string;
let base: string;
let conf: string;

beforeAll(() => {
  tmp = tempDir('diskchain-unstated-format-');
  base = path.join(tmp.dir, 'base.qcow2');
  top = path.join(tmp.dir, 'top.qcow2');
  qemuImg(tmp.dir, 'create', '-q', '-f', 'qcow2', base, '1M');
  qemuImg(tmp.dir, 'create', '-q', '-f', 'qcow2', '-b', base, '-F', 'qcow2', top);
  conf = write(tmp.dir, 'qemu.conf', 'user = "+107"\ngroup = "+108"\nsecurity_driver = "none"\n');
});
afterAll(() => tmp.cleanup());

const stated = () => domainXml([diskElement([{ file: top, format: 'qcow2' }])]);
const unstated = () => stated().replace(" type='qcow2' cache", ' cache');

function profileOf(xml: string): VmProfile {
  const r = profileFor(parseDomainXml(xml, 'vm.xml'), conf, { selinuxEnabled: false });
  expect(r.profileError).toBeNull();
  return { ...r.profile!.profile, allowRoots: [tmp.dir] };
}

describe('relabel with a domain that states no format', () => {
  it('plans the top alone, as libvirt opens it raw; type=qcow2 plans the backing file too', () => {
    expect(parseDomainXml(unstated(), 'vm.xml').disks[0]!.xmlChain[0]!.format).toBeNull();
    const raw = planChanges('relabel', [top], profileOf(unstated()));
    expect(raw.refusals).toEqual([]);
    expect(raw.entries.map((e) => e.path)).toEqual([top]);
    expect(raw.notes?.filter((n) => n.includes('no <driver type>'))).toEqual([
      `disk vda: the domain states no <driver type>, so ${top} is planned as raw, as libvirt opens it: only it is labelled, no backing or data file from its header`,
    ]);

    const qcow2 = planChanges('relabel', [top], profileOf(stated()));
    expect(qcow2.refusals).toEqual([]);
    expect(qcow2.entries.map((e) => e.path)).toEqual([top, base]);
    expect(qcow2.notes?.join('\n')).not.toContain('no <driver type>');
  });

  it("<driver type='raw'> on a qcow2 file: libvirt opens it raw too, the top alone is planned", () => {
    const raw = planChanges('relabel', [top], profileOf(stated().replace("type='qcow2' cache", "type='raw' cache")));
    expect(raw.entries.map((e) => e.path)).toEqual([top]);
  });

  it('the relabel command says why in one line and lists only the top', () => {
    const env = { DISKCHAIN_STATE_DIR: stateDir(), DISKCHAIN_QEMU_CONF: conf };
    const dom = write(tmp.dir, 'vm.xml', unstated());
    const dry = diskchain(['relabel', '--domain', dom, '--allow-root', tmp.dir, '--dry-run', '--json'], { env });
    expect(dry.stderr).toBe('');
    const plan = JSON.parse(dry.stdout).plan;
    expect(plan.entries.map((e: { path: string }) => e.path)).toEqual([top]);
    expect(plan.notes.filter((n: string) => n.includes('planned as raw'))).toHaveLength(1);
  });
});
