// libvirt's version and what it changes: whether libvirt finds a top's data file from its header
// (none before 10.10; 10.10-11.3 miss it after an unpadded extension), on real qemu-img chains.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DomainReport } from '../../shared/domain.js';
import { openDomain } from '../../electron/node/libvirt/index.js';
import {
  NEWEST_KNOWN_LIBVIRT,
  dataFileMissedBy,
  installedLibvirtVersion,
  libvirtVersion,
  parseLibvirtVersion,
} from '../../electron/node/libvirt/version.js';
import { diskchain } from '../support/bin.js';
import { qemuImg, tempDir } from '../support/qemu.js';
import { diskElement, domainXml, makeChain3, write, type Chain3 } from './fixtures.js';

let tmp: { dir: string; cleanup: () => void };
let c: Chain3;
/** A top with a data file and no backing file: its only extension before the data file's is none. */
let lone: string;

beforeAll(() => {
  tmp = tempDir('diskchain-libvirt-version-');
  c = makeChain3(tmp.dir);
  lone = path.join(tmp.dir, 'lone.qcow2');
  qemuImg(tmp.dir, 'create', '-q', '-f', 'qcow2', '-o', 'data_file=lone.raw', lone, '1M');
});
afterAll(() => tmp.cleanup());

async function skips(xml: string, version: string): Promise<string[]> {
  const r: DomainReport = await openDomain({
    text: xml,
    qemuConf: path.join(tmp.dir, 'no-qemu.conf'),
    host: { selinuxEnabled: false },
    libvirtVersion: version,
  });
  return r.disks[0]!.differences.filter((d) => d.code === 'libvirt-skips-data-file').map((d) => `${d.severity}@${d.depth}`);
}

const ext = (name: string, length: number) => ({ type: 0, name, length });

describe('which libvirt', () => {
  it('X.Y or X.Y.Z; anything else is refused', () => {
    expect(parseLibvirtVersion('11.3')).toEqual({ major: 11, minor: 3 });
    expect(parseLibvirtVersion('10.10.0')).toEqual({ major: 10, minor: 10 });
    for (const bad of ['', '11', '11.x', '1.2.3.4', '-1.2', '11.3; rm']) expect(parseLibvirtVersion(bad)).toBeNull();
    expect(libvirtVersion('10.9')).toMatchObject({ major: 10, minor: 9, text: '10.9', source: 'command line --libvirt-version' });
    expect(() => libvirtVersion('eleven')).toThrow(/not a version/);
  });

  it("default: the installed libvirtd's version, else the newest known", () => {
    const installed = installedLibvirtVersion();
    const v = libvirtVersion();
    if (installed) expect(v.source).toContain(installed);
    else expect([v.text, v.source]).toEqual([NEWEST_KNOWN_LIBVIRT, 'no libvirtd here: the newest libvirt diskchain knows']);
  });
});

describe('does libvirt find the data file in the header', () => {
  const v = (t: string) => libvirtVersion(t);
  it('before 10.10 never; 10.10-11.3 only when every extension before it is a multiple of 8 bytes long; later always', () => {
    const after5 = [ext('backing-format', 5), ext('data-file', 9)];
    const after8 = [ext('backing-format', 8), ext('data-file', 9)];
    const first = [ext('data-file', 9), ext('feature-table', 384)];
    expect(dataFileMissedBy(v('10.9'), first)).toMatch(/knows no qcow2 data files/);
    expect(dataFileMissedBy(v('10.10'), first)).toBeNull();
    expect(dataFileMissedBy(v('10.10'), after5)).toMatch(/backing-format extension \(5 bytes\)/);
    expect(dataFileMissedBy(v('11.3'), after5)).not.toBeNull();
    expect(dataFileMissedBy(v('11.3'), after8)).toBeNull();
    expect(dataFileMissedBy(v('11.4'), after5)).toBeNull();
    expect(dataFileMissedBy(v('12.0'), after5)).toBeNull();
  });

  it('domain: a top whose backing-format extension comes first is flagged for 10.10-11.3 and older, not later; a <dataStore> fixes it', async () => {
    const sourceOnly = domainXml([diskElement([{ file: c.top, format: 'qcow2' }])]);
    expect(await skips(sourceOnly, '11.3')).toEqual(['error@0']);
    expect(await skips(sourceOnly, '10.10')).toEqual(['error@0']);
    expect(await skips(sourceOnly, '9.0')).toEqual(['error@0']);
    expect(await skips(sourceOnly, '11.4')).toEqual([]);
    const withStore = domainXml([diskElement([{ file: c.top, format: 'qcow2', data: c.topData }])]);
    for (const ver of ['9.0', '11.3', '11.4']) expect(await skips(withStore, ver)).toEqual([]);
  });

  it('domain: a top with only a data-file extension is found by 10.10 on, missed before', async () => {
    const xml = domainXml([diskElement([{ file: lone, format: 'qcow2' }])]);
    expect(await skips(xml, '11.3')).toEqual([]);
    expect(await skips(xml, '10.10')).toEqual([]);
    expect(await skips(xml, '10.9')).toEqual(['error@0']);
  });

  it('no <driver type>: libvirt opens the top as raw and reads no header, so it is no data-file skip', async () => {
    const xml = domainXml([diskElement([{ file: c.top, format: 'qcow2' }])]).replace(" type='qcow2' cache", ' cache');
    expect(await skips(xml, '11.3')).toEqual([]);
  });

  it('the CLI: domain and relabel --dry-run with a domain name the difference and the fix', () => {
    const xml = write(tmp.dir, 'skip.xml', domainXml([diskElement([{ file: c.top, format: 'qcow2' }])]));
    const conf = write(tmp.dir, 'qemu.conf', 'user = "+107"\ngroup = "+107"\n');
    const d = diskchain(['domain', '--qemu-conf', conf, '--libvirt-version', '11.3', xml]);
    expect(d.status).toBe(3);
    expect(d.stdout).toContain('libvirt-skips-data-file');
    expect(d.stdout).toContain('diskchain export --libvirt-xml');
    expect(diskchain(['domain', '--qemu-conf', conf, '--libvirt-version', '11.4', xml]).stdout).not.toContain('libvirt-skips-data-file');

    const r = diskchain([
      'relabel',
      '--dry-run',
      '--json',
      '--no-helper',
      '--allow-root',
      tmp.dir,
      '--qemu-conf',
      conf,
      '--libvirt-version',
      '10.9',
      '--domain',
      xml,
    ]);
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout) as { plan: { entries: { path: string }[] }; libvirtDifferences: { code: string; message: string }[] };
    expect(out.libvirtDifferences.map((x) => x.code)).toEqual(['libvirt-skips-data-file']);
    expect(out.libvirtDifferences[0]!.message).toContain('knows no qcow2 data files');
    // Relabel still labels what qemu needs: the data file is in the plan.
    expect(out.plan.entries.map((e) => e.path)).toContain(c.topData);
    expect(fs.existsSync(c.topData)).toBe(true);

    const bad = diskchain(['relabel', '--dry-run', '--no-helper', '--libvirt-version', '11.3', c.top]);
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toContain('--libvirt-version needs --domain');
  });
});
