// Domain XML in: each disk's XML chain against the chain its headers give, over real qemu-img
// chains; hostile documents are refused with errors that name the file.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DomainReport } from '../../shared/domain.js';
import { DomainXmlError, openDomain, parseDomainXml } from '../../electron/node/libvirt/index.js';
import { MAX_XML_BYTES } from '../../electron/node/libvirt/xml.js';
import { qemuImg, tempDir } from '../support/qemu.js';
import { diskElement, domainXml, makeChain3, write, type Chain3, type Level } from './fixtures.js';

let tmp: { dir: string; cleanup: () => void };
let c: Chain3;
const host = { selinuxEnabled: false };

beforeAll(() => {
  tmp = tempDir('diskchain-domain-');
  c = makeChain3(tmp.dir);
});
afterAll(() => tmp.cleanup());

function full(o: Partial<Record<'top' | 'mid' | 'base' | 'topData' | 'baseData', string>> = {}): Level[] {
  return [
    { file: o.top ?? c.top, format: 'qcow2', data: o.topData ?? c.topData },
    { file: o.mid ?? c.mid, format: 'qcow2' },
    { file: o.base ?? c.base, format: 'qcow2', data: o.baseData ?? c.baseData },
  ];
}

async function open(xml: string): Promise<DomainReport> {
  return openDomain({ text: xml, qemuConf: path.join(tmp.dir, 'no-qemu.conf'), host });
}

const codes = (r: DomainReport, disk = 0) =>
  r.disks[disk]!.differences.filter((d) => d.severity !== 'info' && d.code !== 'header-problem').map((d) => `${d.code}@${d.depth}`);

describe('domain XML vs headers', () => {
  it('a correct 3-deep chain with data stores: no differences; every disk kind parsed', async () => {
    const r = await open(domainXml([diskElement(full(), { end: 'terminated' })]));
    expect(r.name).toBe('web01');
    expect(r.disks.map((d) => [d.target, d.device, d.type])).toEqual([
      ['vda', 'disk', 'file'],
      ['sda', 'cdrom', 'file'],
      ['vdx', 'disk', 'network'],
      ['vdy', 'disk', 'volume'],
    ]);
    const vda = r.disks[0]!;
    expect(vda.xmlChain.map((l) => [l.path, l.format, l.dataStore?.path ?? null])).toEqual([
      [c.top, 'qcow2', c.topData],
      [c.mid, 'qcow2', null],
      [c.base, 'qcow2', c.baseData],
    ]);
    expect(vda.xmlChainEnd).toBe('terminated');
    expect(vda.headerChain!.map((h) => [h.path, h.format, h.dataFile?.path ?? null])).toEqual([
      [c.top, 'qcow2', c.topData],
      [c.mid, 'qcow2', null],
      [c.base, 'qcow2', c.baseData],
    ]);
    expect(codes(r)).toEqual([]);
    expect(r.disks[1]!.differences[0]!.code).toBe('not-inspected');
    expect(r.disks[1]!.readonly).toBe(true);
    expect(r.disks[2]!.xmlChain[0]!.display).toBe('rbd://ceph1:6789/pool/vol1');
    expect(r.disks[3]!.xmlChain[0]!.display).toBe('volume default/data.qcow2');
  });

  it('no <backingStore>: libvirt probes, nothing is a mismatch', async () => {
    const r = await open(domainXml([diskElement([{ file: c.top, format: 'qcow2' }])]));
    expect(r.disks[0]!.xmlChainEnd).toBe('open');
    expect(r.disks[0]!.differences.map((d) => d.code)).toContain('probed-chain');
    // Except the top's data file, which libvirt 10.10-11.3 miss after the backing-format extension (test/libvirt/version.test.ts).
    expect(codes(r)).toEqual(['libvirt-skips-data-file@0']);
  });

  it('a stale backingStore path is flagged at its level', async () => {
    const other = path.join(tmp.dir, 'old-mid.qcow2');
    qemuImg(tmp.dir, 'create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', c.base, other);
    const r = await open(domainXml([diskElement(full({ mid: other }), { end: 'terminated' })]));
    expect(codes(r)).toEqual(['path-differs@1']);
    expect(r.disks[0]!.differences.find((d) => d.code === 'path-differs')!.message).toContain(other);
  });

  it('a wrong format at the top and below', async () => {
    const levels = full();
    levels[0]!.format = 'raw';
    levels[2]!.format = 'raw';
    const r = await open(domainXml([diskElement(levels, { end: 'terminated' })]));
    expect(codes(r)).toEqual(['format-differs@0', 'format-differs@2']);
  });

  it('a missing level (the XML skips mid) and an extra level', async () => {
    const skip = full();
    skip.splice(1, 1);
    expect(codes(await open(domainXml([diskElement(skip, { end: 'terminated' })])))).toEqual(['missing-level@1']);

    const extra = path.join(tmp.dir, 'extra.qcow2');
    qemuImg(tmp.dir, 'create', '-q', '-f', 'qcow2', extra, '1M');
    const more = [...full(), { file: extra, format: 'qcow2' }];
    expect(codes(await open(domainXml([diskElement(more, { end: 'terminated' })])))).toEqual(['extra-level@3']);
  });

  it('<backingStore/> where the header names a backing file', async () => {
    const r = await open(domainXml([diskElement([full()[0]!], { end: 'terminated' })]));
    expect(codes(r)).toEqual(['terminated-early@1', 'missing-level@2']);
  });

  it('data stores: missing, extra, differing, not raw', async () => {
    const missing = full();
    delete missing[2]!.data;
    expect(codes(await open(domainXml([diskElement(missing, { end: 'terminated' })])))).toEqual(['data-file-missing@2']);

    const extraData = full();
    extraData[1]!.data = path.join(tmp.dir, 'ghost.raw');
    expect(codes(await open(domainXml([diskElement(extraData, { end: 'terminated' })])))).toEqual(['data-file-extra@1']);

    const differs = full({ topData: c.baseData });
    expect(codes(await open(domainXml([diskElement(differs, { end: 'terminated' })])))).toEqual(['data-file-differs@0']);

    const notRaw = full();
    notRaw[0]!.dataFormat = 'qcow2';
    expect(codes(await open(domainXml([diskElement(notRaw, { end: 'terminated' })])))).toEqual(['data-file-format@0']);
  });

  it('a symlinked path names the same file: no difference', async () => {
    const link = path.join(tmp.dir, 'mid-link.qcow2');
    fs.symlinkSync(c.mid, link);
    expect(codes(await open(domainXml([diskElement(full({ mid: link }), { end: 'terminated' })])))).toEqual([]);
  });

  it('reads a file and names it in errors', async () => {
    const f = write(tmp.dir, 'web01.xml', domainXml([diskElement(full(), { end: 'terminated' })]));
    const r = await openDomain({ file: f, qemuConf: '/nonexistent', host });
    expect(r.origin).toBe(f);
    await expect(openDomain({ file: path.join(tmp.dir, 'nope.xml'), host })).rejects.toThrow(/nope\.xml: cannot be opened \(ENOENT\)/);
  });

  it('never opens a FIFO, a device or a folder given as the domain file (a FIFO would block)', async () => {
    const fifo = path.join(tmp.dir, 'vm.xml.fifo');
    spawnSync('mkfifo', [fifo]);
    const link = path.join(tmp.dir, 'link-to-fifo.xml');
    fs.symlinkSync(fifo, link);
    for (const f of [fifo, link, '/dev/zero', '/dev/null', tmp.dir]) {
      await expect(openDomain({ file: f, host })).rejects.toThrow(/not a regular file/);
    }
  });
});

describe('hostile or wrong domain XML', () => {
  const bad = (text: string) => () => parseDomainXml(text, 'evil.xml');

  it('huge', () => {
    const big = `<domain><name>${'x'.repeat(MAX_XML_BYTES)}</name></domain>`;
    expect(bad(big)).toThrow(/evil\.xml: \d+ bytes is more than a domain XML can be/);
  });

  it('deep nesting of elements and of backingStore', () => {
    expect(bad('<domain>' + '<a>'.repeat(5000) + '</a>'.repeat(5000) + '</domain>')).toThrow(
      /evil\.xml: elements nested more than 260 deep/,
    );
    const bs = "<backingStore type='file'><format type='qcow2'/><source file='/x'/>";
    const deep = `<domain><devices><disk type='file'><source file='/t'/>${bs.repeat(201)}${'</backingStore>'.repeat(201)}</disk></devices></domain>`;
    expect(bad(deep)).toThrow(/more than 200 <backingStore> levels/);
    const ok = `<domain><devices><disk type='file'><source file='/t'/>${bs.repeat(200)}${'</backingStore>'.repeat(200)}</disk></devices></domain>`;
    expect(parseDomainXml(ok, 'ok.xml').disks[0]!.xmlChain).toHaveLength(201);
  });

  it('DOCTYPE and entities (billion laughs, external)', () => {
    const laughs = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]><domain><name>&lol2;</name></domain>`;
    expect(bad(laughs)).toThrow(/evil\.xml: has a DOCTYPE or entity declaration/);
    expect(bad(`<!DOCTYPE d SYSTEM "file:///etc/passwd"><domain/>`)).toThrow(/DOCTYPE/);
    // Undeclared entities stay text; the five predefined ones and character references decode once.
    const d = parseDomainXml(`<domain><name>a&amp;b&#65;&amp;#66;&foo;</name></domain>`, 'x.xml');
    expect(d.name).toBe('a&bA&#66;&foo;');
  });

  it('not a domain, broken, empty', () => {
    expect(bad(`<pool type='dir'><name>default</name></pool>`)).toThrow(/evil\.xml: the root element is <pool>, not <domain>/);
    expect(bad(`<domain><name>x</domain>`)).toThrow(/evil\.xml: not well-formed XML: line 1/);
    expect(bad('   ')).toThrow(/evil\.xml: empty/);
    expect(
      bad(
        `<domain><devices><disk type='file'><source file='/a'><seclabel model='dac' relabel='maybe'/></source></disk></devices></domain>`,
      ),
    ).toThrow(/relabel='maybe'/);
    expect(bad(`<domain><seclabel type='dynamic' model='selinux' relabel='no'/></domain>`)).toThrow(/dynamic labels must relabel/);
  });

  it('errors are DomainXmlError', () => {
    expect(bad('<x/>')).toThrow(DomainXmlError);
  });
});
