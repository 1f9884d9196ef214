// qcow2 internal snapshots: listed as qemu-img info lists them, from tables qemu-img writes and
// from hand-made entries with the older, shorter extra data.
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { qcow2 } from '../../../electron/node/core/formats/qcow2/index.js';
import { qemuInfoChain } from '../../../electron/node/core/qemu-info.js';
import { tempDir } from '../../support/qemu.js';
import { be32, be64, mustParse, mustRefuse, patchFile, qemuImg, qemuRefuses } from './fixtures.js';

let dir: string;
let cleanup: () => void;
beforeAll(() => ({ dir, cleanup } = tempDir('diskchain-qcow2-snap-')));
afterAll(() => cleanup());

const TABLE = 3 * 65536;

/** Our qemu-img JSON for the chain must equal qemu-img's, key by key. */
function sameAsQemu(name: string): any[] {
  const expected = JSON.parse(qemuImg(dir, 'info', '--output=json', '--backing-chain', '-U', name));
  const prev = process.cwd();
  process.chdir(dir);
  let r;
  try {
    r = qemuInfoChain(name);
  } finally {
    process.chdir(prev);
  }
  expect(r.error).toBeNull();
  expect(r.entries).toHaveLength(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const actual = r.entries[i]!;
    for (const key of new Set([...Object.keys(expected[i]), ...Object.keys(actual)])) {
      expect({ layer: i, key, value: actual[key] }).toEqual({ layer: i, key, value: expected[i][key] });
    }
    // qemu's JSON writer's key order inside each snapshot.
    for (const [j, s] of ((expected[i].snapshots ?? []) as object[]).entries()) {
      expect(Object.keys((actual.snapshots as object[])[j]!)).toEqual(Object.keys(s));
    }
  }
  return expected;
}

interface Entry {
  extra: Buffer;
  id: Buffer;
  name: Buffer;
  vmState32?: number;
  vmClockNsec?: bigint;
}

/** One snapshot table entry (docs/interop/qcow2.txt), padded to 8 bytes. */
function entry(e: Entry): Buffer {
  const h = Buffer.alloc(40);
  h.writeBigUInt64BE(0n, 0); // no L1 table: qemu-img info never reads it
  h.writeUInt16BE(e.id.length, 12);
  h.writeUInt16BE(e.name.length, 14);
  h.writeUInt32BE(1_700_000_000, 16);
  h.writeUInt32BE(123_456_789, 20);
  h.writeBigUInt64BE(e.vmClockNsec ?? 0n, 24);
  h.writeUInt32BE(e.vmState32 ?? 0, 32);
  h.writeUInt32BE(e.extra.length, 36);
  const body = Buffer.concat([h, e.extra, e.id, e.name]);
  return Buffer.concat([body, Buffer.alloc((8 - (body.length % 8)) % 8)]);
}

/** A fresh image whose header points at `entries` written at TABLE. */
function withTable(name: string, entries: Entry[]): string {
  qemuImg(dir, 'create', '-q', '-f', 'qcow2', name, '1M');
  const file = path.join(dir, name);
  patchFile(file, 60, be32(entries.length));
  patchFile(file, 64, be64(TABLE));
  patchFile(file, TABLE, Buffer.concat(entries.map(entry)));
  return file;
}

describe('qcow2 internal snapshots', () => {
  it('lists the snapshots qemu-img snapshot -c made, as qemu-img info does', () => {
    qemuImg(dir, 'create', '-q', '-f', 'qcow2', 'base.qcow2', '1M');
    qemuImg(dir, 'create', '-q', '-f', 'qcow2', '-b', 'base.qcow2', '-F', 'qcow2', 'top.qcow2');
    const long = `long-${'x'.repeat(300)}`;
    for (const n of ['s1', long, 'with space']) qemuImg(dir, 'snapshot', '-c', n, 'top.qcow2');
    const expected = sameAsQemu('top.qcow2');
    expect(expected[0].snapshots.map((s: any) => s.name)).toEqual(['s1', long.slice(0, 255), 'with space']);
    expect(expected[1].snapshots).toBeUndefined();

    const p = mustParse(qcow2, path.join(dir, 'top.qcow2'));
    const snaps = p.header.snapshots!;
    expect(snaps.map((s) => [s.id, s.name, s.icount])).toEqual([
      ['1', 's1', 0],
      ['2', long.slice(0, 255), 0],
      ['3', 'with space', 0],
    ]);
    expect(snaps[2]!.nameHex).toBe(Buffer.from('with space').toString('hex'));
    expect(snaps[0]!.dateSec).toBe(expected[0].snapshots[0]['date-sec']);
    expect(mustParse(qcow2, path.join(dir, 'base.qcow2')).header.snapshots).toBeUndefined();
  });

  it('lists a version 2 image snapshot', () => {
    qemuImg(dir, 'create', '-q', '-f', 'qcow2', '-o', 'compat=0.10', 'v2.qcow2', '1M');
    qemuImg(dir, 'snapshot', '-c', 'only', 'v2.qcow2');
    expect(sameAsQemu('v2.qcow2')[0].snapshots).toHaveLength(1);
  });

  it('reads older and longer extra data as qemu does', () => {
    // A name qemu cuts at 255 bytes in the middle of a two-byte character.
    const cut = Buffer.concat([Buffer.from('a'.repeat(254)), Buffer.from('é'), Buffer.from('tail')]);
    const extra = (vmState: bigint, icount?: bigint, more = 0): Buffer =>
      Buffer.concat([be64(vmState), be64(1 << 20), ...(icount === undefined ? [] : [be64(icount)]), Buffer.alloc(more)]);
    const file = withTable('legacy.qcow2', [
      { extra: Buffer.alloc(0), id: Buffer.from('7'), name: cut, vmState32: 4096, vmClockNsec: 5_500_000_000n },
      { extra: extra(1n << 40n).subarray(0, 16), id: Buffer.from('8'), name: Buffer.from('no icount') },
      { extra: extra(0n, 0xffff_ffff_ffff_ffffn), id: Buffer.from('9'), name: Buffer.from('icount -1') },
      { extra: extra(12n, 42n, 100), id: Buffer.from('10'), name: Buffer.from('nul\0after') },
    ]);
    const snaps = sameAsQemu('legacy.qcow2')[0].snapshots;
    expect(snaps.map((s: any) => s.icount)).toEqual([undefined, undefined, undefined, 42]);
    expect(snaps[0]['vm-state-size']).toBe(4096);
    expect(snaps[0]['vm-clock-sec']).toBe(5);
    expect(snaps[0].name).toBe(`${'a'.repeat(254)}\ufffd`);

    const model = mustParse(qcow2, file).header.snapshots!;
    expect(model[0]!.nameHex).toBe(cut.toString('hex'));
    expect(model[0]!.nameSize).toBe(cut.length);
    expect(model[1]!.vmStateSize).toBe(2 ** 40);
    expect(model[3]!.name).toBe('nul');
    expect(model[3]!.icount).toBe(42);
  });

  it('keeps at most 1024 bytes of a long name', () => {
    const file = withTable('longname.qcow2', [{ extra: Buffer.alloc(24), id: Buffer.from('1'), name: Buffer.alloc(5000, 0x62) }]);
    const [s] = mustParse(qcow2, file).header.snapshots!;
    expect(s!.nameSize).toBe(5000);
    expect(s!.nameHex).toHaveLength(2048);
    expect(s!.name).toBe('b'.repeat(255));
  });

  it('still refuses a later entry with too much extra data, as qemu does', () => {
    const ok = { extra: Buffer.alloc(24), id: Buffer.from('1'), name: Buffer.from('fine') };
    const file = withTable('badextra.qcow2', [ok, { ...ok, extra: Buffer.alloc(1025) }]);
    const want = 'Too much extra metadata in snapshot table entry 1';
    expect(mustRefuse(qcow2, file).message.split('\n')[0]).toBe(want);
    expect(qemuRefuses(dir, file, 'qcow2').split('\n')[0]).toBe(want);
  });
});
