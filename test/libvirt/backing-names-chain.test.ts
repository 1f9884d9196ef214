// Chains whose backing names take libvirt's non-file forms, made with qemu-img (`create -u`
// writes any name): the chain cases of libvirt's tests/virstoragetest.c (relative, absolute,
// missing, loops, symlinked folders, nbd and rbd names), plus json: names that point at local
// files, which libvirt follows and labels exactly as plain names.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspect } from '../../electron/node/core/chain.js';
import { planChange } from '../../electron/node/relabel/index.js';
import type { BackingSource, ChainNode } from '../../shared/model.js';
import { profile } from '../support/chain.js';
import { qemuImg, tempDir } from '../support/qemu.js';

let tmp: { dir: string; cleanup: () => void };
let d: string;
beforeAll(() => {
  tmp = tempDir('diskchain-backing-');
  d = tmp.dir;
  fs.writeFileSync(path.join(d, 'raw'), Buffer.alloc(1024));
  qemuImg(d, 'create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', 'raw', 'base.qcow2');
  fs.mkdirSync(path.join(d, 'sub'));
  fs.symlinkSync('../base.qcow2', path.join(d, 'sub', 'link1'));
});
afterAll(() => tmp.cleanup());

let n = 0;
/** A fresh qcow2 naming `backing` with backing format `fmt` (qemu-img 7.2 insists on one), inspected. */
function overlay(backing: string, fmt: string): ChainNode {
  const name = `top${n++}.qcow2`;
  qemuImg(d, 'create', '-q', '-f', 'qcow2', '-u', '-F', fmt, '-b', backing, name, '1M');
  return inspect(path.join(d, name));
}

const codes = (x: ChainNode) => x.problems.map((p) => p.code);

interface Expect {
  kind: 'file' | 'network' | 'protocol';
  /** file: the real path the walk reached (relative to the temp folder). */
  path?: string;
  source?: BackingSource;
  /** libvirt refuses the name. */
  refused?: RegExp;
  codes: string[];
  /** Layers below the top the walk reached. */
  depth?: number;
}

type ChainCase = [what: string, backing: (dir: string) => string, fmt: string, exp: Expect];

const file = (rel: string): BackingSource => ({ type: 'file', path: rel });
const nbd = (name: string | undefined, host: string, port: number): BackingSource => ({
  type: 'network',
  protocol: 'nbd',
  ...(name !== undefined ? { name } : {}),
  hosts: [{ transport: 'tcp', name: host, port }],
});

const CASES: ChainCase[] = [
  // virstoragetest.c's TEST_CHAIN cases, one header name each.
  ['relative raw, format given', () => 'raw', 'raw', { kind: 'file', path: 'raw', codes: [] }],
  ['absolute raw, format given', (x) => `${x}/raw`, 'raw', { kind: 'file', path: 'raw', codes: [] }],
  ['wrapped qcow2, absolute', (x) => `${x}/base.qcow2`, 'qcow2', { kind: 'file', path: 'base.qcow2', codes: [], depth: 2 }],
  ['missing file, format given', (x) => `${x}/bogus`, 'qcow2', { kind: 'file', codes: ['missing'] }],
  // libvirt joins base.qcow2's own 'raw' to the link's folder (sub/), where there is none.
  ['relative name through a symlinked folder', () => 'sub/link1', 'qcow2', { kind: 'file', path: 'base.qcow2', codes: [], depth: 1 }],
  [
    'nbd colon form',
    () => 'nbd:example.org:6000:exportname=blah',
    'raw',
    { kind: 'network', source: nbd('blah', 'example.org', 6000), codes: ['network'] },
  ],
  [
    'nbd+tcp URI',
    () => 'nbd+tcp://example.org:6000/blah',
    'raw',
    { kind: 'network', source: nbd('blah', 'example.org', 6000), codes: ['network'] },
  ],
  [
    'nbd URI without a path',
    () => 'nbd://example.org',
    'raw',
    { kind: 'network', source: nbd(undefined, 'example.org', 10809), codes: ['network'] },
  ],
  [
    'rbd colon form',
    () => 'rbd:testshare',
    'raw',
    { kind: 'network', source: { type: 'network', protocol: 'rbd', name: 'testshare' }, codes: ['network'] },
  ],
  [
    'rbd with a monitor host',
    () => 'rbd:testshare:id=asdf:mon_host=example.com',
    'raw',
    {
      kind: 'network',
      source: { type: 'network', protocol: 'rbd', name: 'testshare', hosts: [{ transport: 'tcp', name: 'example.com' }] },
      codes: ['network'],
    },
  ],
  // json: names that libvirt follows.
  ['json: file driver', (x) => `json:{"driver":"file","filename":"${x}/raw"}`, 'raw', { kind: 'file', path: 'raw', codes: [] }],
  [
    'json: wrapped in "file"',
    (x) => `json:{"file":{"driver":"file","filename":"${x}/raw"}}`,
    'raw',
    { kind: 'file', path: 'raw', codes: [] },
  ],
  [
    'json: flattened file. keys',
    (x) => `json:{"file.driver":"file","file.filename":"${x}/raw"}`,
    'raw',
    { kind: 'file', path: 'raw', codes: [] },
  ],
  [
    'json: raw over file',
    (x) => `json:{"driver":"raw","file":{"driver":"file","filename":"${x}/raw"}}`,
    'raw',
    { kind: 'file', path: 'raw', codes: [] },
  ],
  [
    'json: to a qcow2 with its own backing',
    (x) => `json:{"driver":"file","filename":"${x}/base.qcow2"}`,
    'qcow2',
    { kind: 'file', path: 'base.qcow2', codes: [], depth: 2 },
  ],
  [
    'json: raw slice: the file is labelled, its header not read',
    (x) => `json:{"driver":"raw","offset":512,"size":512,"file":{"driver":"file","filename":"${x}/raw"}}`,
    'raw',
    { kind: 'file', path: 'raw', codes: ['unsupported-feature'] },
  ],
  ['json: missing file', (x) => `json:{"driver":"file","filename":"${x}/nothing"}`, 'raw', { kind: 'file', codes: ['missing'] }],
  [
    'json: a device is never read',
    () => 'json:{"driver":"host_device","filename":"/dev/null"}',
    'raw',
    { kind: 'file', codes: ['device'], depth: 1 },
  ],
  // json: names libvirt reads as network sources, or refuses.
  [
    'json: nbd server',
    () => 'json:{"file":{"driver":"nbd","export":"blah","server":{"type":"inet","host":"example.org","port":"6000"}}}',
    'raw',
    { kind: 'network', source: nbd('blah', 'example.org', 6000), codes: ['network'] },
  ],
  [
    'json: http url',
    () => 'json:{"file.driver":"http","file.url":"http://example.com/file"}',
    'raw',
    {
      kind: 'network',
      source: { type: 'network', protocol: 'http', name: 'file', hosts: [{ transport: 'tcp', name: 'example.com', port: 80 }] },
      codes: ['network'],
    },
  ],
  [
    'json: relative filename is not followed',
    () => 'json:{"driver":"file","filename":"raw"}',
    'raw',
    { kind: 'protocol', refused: /relative/, codes: ['protocol'] },
  ],
  [
    'json: a qcow2 format layer (libvirt has no parser for it)',
    (x) => `json:{"driver":"qcow2","file":{"driver":"file","filename":"${x}/base.qcow2"}}`,
    'qcow2',
    { kind: 'protocol', refused: /missing parser implementation/, codes: ['protocol'] },
  ],
  ['json: malformed', () => 'json:{"driver":', 'raw', { kind: 'protocol', refused: /cannot parse/, codes: ['protocol'] }],
  ['fat: folder', () => 'fat:/somedir', 'raw', { kind: 'protocol', source: { type: 'dir', path: '/somedir' }, codes: ['protocol'] }],
  ['unknown protocol', () => 'foo:bar', 'raw', { kind: 'protocol', refused: /invalid backing protocol 'foo'/, codes: ['protocol'] }],
  ['sheepdog colon form', () => 'sheepdog:vdi', 'raw', { kind: 'network', refused: /not implemented/, codes: ['network'] }],
];

describe("libvirt's chain cases and json: names", () => {
  it.each(CASES)('%s', (_what, backing, fmt, exp) => {
    const top = overlay(backing(d), fmt);
    const b = top.backing!;
    expect(b.nameInfo?.kind).toBe(exp.kind);
    expect(codes(b)).toEqual(exp.codes);
    if (exp.path) {
      expect(b.path).toBe(fs.realpathSync(path.join(d, exp.path)));
      expect(b.stat).not.toBeNull();
    }
    if (exp.kind !== 'file') expect(b.stat).toBeNull();
    if (exp.source) expect(b.nameInfo?.source).toEqual(exp.source);
    if (exp.refused) {
      expect(b.nameInfo?.sourceError).toMatch(exp.refused);
      expect(b.nameInfo?.source).toBeUndefined();
    }
    let depth = 0;
    for (let x: ChainNode | null = b; x?.stat; x = x.backing) depth++;
    expect(depth).toBe(exp.depth ?? (exp.path ? 1 : 0));
  });

  it('a relative file name keeps its joined path as its source', () => {
    const b = overlay('raw', 'raw').backing!;
    expect(b.nameInfo?.source).toEqual(file(`${d}/raw`));
  });
});

describe('a json: backing made with qemu-img is followed and labelled', () => {
  it('is in the relabel plan like a plain name', () => {
    const base = path.join(d, 'base.qcow2');
    qemuImg(
      d,
      'create',
      '-q',
      '-f',
      'qcow2',
      '-u',
      '-F',
      'qcow2',
      '-b',
      `json:{"driver":"file","filename":"${base}"}`,
      'json-top.qcow2',
      '1M',
    );
    const top = inspect(path.join(d, 'json-top.qcow2'));
    expect(top.backing).toMatchObject({ path: base, format: 'qcow2', formatSource: 'header', problems: [] });
    expect(top.backing!.backing).toMatchObject({ path: path.join(d, 'raw'), format: 'raw' });
    const plan = planChange('relabel', path.join(d, 'json-top.qcow2'), profile({ allowRoots: [d] }));
    expect(plan.refusals).toEqual([]);
    expect(plan.entries.map((e) => e.path)).toEqual([path.join(d, 'json-top.qcow2'), base, path.join(d, 'raw')]);
  });
});
