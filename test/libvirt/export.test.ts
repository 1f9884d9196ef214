// Export → parse → the same chain; and the -blockdev nodes checked by qemu itself.
import { execFileSync, spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspect } from '../../electron/node/core/chain.js';
import { compareChains, headerLayers } from '../../electron/node/libvirt/compare.js';
import { parseDomainXml } from '../../electron/node/libvirt/domain-xml.js';
import { blockdevNodes, diskXml, nestedJson, type BlockdevNode } from '../../electron/node/libvirt/export.js';
import { qemuImg, tempDir } from '../support/qemu.js';
import { makeChain3, type Chain3 } from './fixtures.js';

let tmp: { dir: string; cleanup: () => void };
let c: Chain3;
beforeAll(() => {
  tmp = tempDir('diskchain-export-');
  c = makeChain3(tmp.dir);
  // A pattern written through base.qcow2 lands in base.raw: readable through the whole chain.
  execFileSync('qemu-io', ['-c', 'write -P 0x5a 0 64k', c.base], { stdio: 'ignore' });
});
afterAll(() => tmp.cleanup());

describe('export', () => {
  it('<disk> XML parses back to the chain inspect() gives, with no differences', () => {
    const root = inspect(c.top);
    const xml = diskXml(root, { target: 'vdb' });
    const def = parseDomainXml(`<domain type='kvm'><name>x</name><devices>${xml}</devices></domain>`, 'exported');
    const disk = def.disks[0]!;
    expect(disk.target).toBe('vdb');
    expect(disk.xmlChainEnd).toBe('terminated');
    const header = headerLayers(root);
    expect(disk.xmlChain.map((l) => [l.path, l.format, l.dataStore?.path ?? null, l.dataStore?.format ?? null])).toEqual(
      header.map((h) => [h.path, h.format, h.dataFile?.path ?? null, h.dataFile ? 'raw' : null]),
    );
    expect(compareChains(disk, header).filter((d) => d.severity === 'error')).toEqual([]);
  });

  it('a chain 150 deep round-trips', () => {
    const deep = tempDir('diskchain-export-deep-');
    try {
      qemuImg(deep.dir, 'create', '-q', '-f', 'qcow2', 'l0.qcow2', '1M');
      for (let i = 1; i < 150; i++) qemuImg(deep.dir, 'create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', `l${i - 1}.qcow2`, `l${i}.qcow2`);
      const root = inspect(`${deep.dir}/l149.qcow2`);
      const def = parseDomainXml(`<domain><devices>${diskXml(root)}</devices></domain>`, 'deep');
      expect(def.disks[0]!.xmlChain).toHaveLength(150);
      expect(compareChains(def.disks[0]!, headerLayers(root)).filter((d) => d.severity !== 'info')).toEqual([]);
    } finally {
      deep.cleanup();
    }
  });

  it('-blockdev nodes: node names, references, read-only backing, data-file children', () => {
    const nodes = blockdevNodes(inspect(c.top));
    const byName = new Map(nodes.map((n) => [n['node-name'], n]));
    const defined = new Set<string>();
    for (const n of nodes) {
      for (const k of ['file', 'data-file', 'backing']) if (typeof n[k] === 'string') expect(defined.has(n[k] as string)).toBe(true);
      defined.add(n['node-name']);
    }
    const top = nodes[nodes.length - 1]!;
    expect(top).toMatchObject({ driver: 'qcow2', 'read-only': false });
    expect(byName.get(top['data-file'] as string)).toMatchObject({ driver: 'file', filename: c.topData });
    const mid = byName.get(top.backing as string)!;
    expect(mid).toMatchObject({ 'read-only': true, driver: 'qcow2' });
    expect(byName.get(mid.file as string)).toMatchObject({ filename: c.mid });
    const base = byName.get(mid.backing as string)!;
    expect(base).toMatchObject({ 'read-only': true, backing: null });
    expect(byName.get(base['data-file'] as string)).toMatchObject({ filename: c.baseData });
  });

  it('qemu accepts the nodes: each format node with qemu-img info, the nested chain with qemu-io', () => {
    const root = inspect(c.top);
    const nodes = blockdevNodes(root);
    const header = headerLayers(root);
    const formats = nodes.filter((n) => n.driver === 'qcow2').reverse(); // top first
    expect(formats).toHaveLength(3);
    formats.forEach((f, depth) => {
      // qemu-img info opens without backing options, so each format node goes alone with its children.
      const single = nestedJson(
        nodes
          .filter((n) => n === f || n['node-name'] === f.file || n['node-name'] === f['data-file'])
          .map((n) => (n === f ? { ...n, backing: undefined } : n)) as BlockdevNode[],
      );
      delete single.backing;
      const info = JSON.parse(qemuImg(tmp.dir, 'info', '--backing-chain', '--output=json', `json:${JSON.stringify(single)}`)) as any[];
      expect(info[0].filename).toBe(header[depth]!.path);
      expect(info[0].format).toBe(header[depth]!.format);
      const df = info[0]['format-specific']?.data?.['data-file'] ?? null;
      expect(df === null ? null : path.resolve(tmp.dir, df)).toBe(header[depth]!.dataFile?.path ?? null);
      expect(info.map((e) => e.filename)).toEqual(header.slice(depth).map((h) => h.path));
    });
    // The whole chain as qemu opens it: the pattern in base.raw reads through top → mid → base.
    const all = `json:${JSON.stringify(nestedJson(nodes))}`;
    execFileSync('qemu-io', ['-r', '-c', 'read -P 0x5a 0 64k', all], { stdio: 'pipe' });
    // And a broken wiring is caught: the same read without the base fails.
    const byName = new Map(nodes.map((n) => [n['node-name'], n]));
    const midFmt = nodes.find((n) => n.driver === 'qcow2' && byName.get(n.file as string)!.filename === c.mid)!;
    const baseFmt = byName.get(midFmt.backing as string)!;
    const gone = new Set([baseFmt['node-name'], baseFmt.file, baseFmt['data-file']]);
    const cut = nodes.filter((n) => !gone.has(n['node-name'])).map((n) => (n === midFmt ? { ...n, backing: null } : n));
    const r = spawnSync('qemu-io', ['-r', '-c', 'read -P 0x5a 0 64k', `json:${JSON.stringify(nestedJson(cut))}`], { encoding: 'utf8' });
    expect(r.stdout + r.stderr).toMatch(/Pattern verification failed/);
  });
});
