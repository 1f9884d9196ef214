// One LUKS header, two ways in: as a raw LUKS volume and as the crypto header of a qcow2 with
// encrypt.format=luks. qemu reads both with the same code, so the same patched header must get
// the same verdict (and the same encrypt data) either way, and that verdict must be qemu-img's.
// Each case below is one the two readers used to disagree on.
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { luks } from '../../../electron/node/core/formats/luks.js';
import { qcow2 } from '../../../electron/node/core/formats/qcow2/index.js';
import type { ParsedImage } from '../../../electron/node/core/formats/types.js';
import { tempDir } from '../../support/qemu.js';
import { patchedCopy } from '../raw/common.js';
import { EXT, makeLuksQcow2, parseFile, qemuVerdict, readExtensions } from '../qcow2/fixtures.js';
import { LUKS, be32, cstr, makeLuks } from './fixtures.js';

let dir: string;
let cleanup: () => void;
/** Where the LUKS header starts inside luks.qcow2. */
let luksInQcow2: number;

beforeAll(() => {
  ({ dir, cleanup } = tempDir('diskchain-luks-agree-'));
  makeLuks(dir, 'disk.luks', '1M');
  const file = makeLuksQcow2(dir, 'luks.qcow2');
  luksInQcow2 = Number(
    readExtensions(file)
      .find((e) => e.type === EXT.crypto)!
      .data.readBigUInt64BE(0),
  );
});
afterAll(() => cleanup());

const keyOffset = (slot: number) => LUKS.slot(slot) + LUKS.slotKeyOffset;

const CASES: Array<[string, Array<[number, Buffer]>]> = [
  // qemu 7.2 adds start + length in unsigned int: two slots past 2^32 - 504 do not overlap there.
  [
    'two key slots whose ranges overlap only in 64-bit arithmetic',
    [
      [keyOffset(1), be32(0xfffffff0)],
      [keyOffset(2), be32(0xfffffff8)],
    ],
  ],
  ['a payload overlapping the header', [[LUKS.payloadOffset, be32(4)]]],
  ['zero master key iterations', [[LUKS.masterKeyIterations, be32(0)]]],
  ['a cipher mode without its NUL', [[LUKS.cipherMode, Buffer.alloc(32, 0x78)]]],
  ['an active key slot without iterations', [[LUKS.slot(0) + LUKS.slotIterations, be32(0)]]],
  ['a key slot inside the LUKS header', [[keyOffset(0), be32(2)]]],
  // qemu decodes modified UTF-8 (C0 80 is U+0000) and replaces each bad sequence with U+FFFD.
  ['a uuid that is not valid UTF-8', [[LUKS.uuid, Buffer.from('c080e282ffedb080f09f9880ff41', 'hex')]]],
  ['a cipher mode without an IV generator', [[LUKS.cipherMode, cstr('xtsplain64', 32)]]],
];

type Verdict = { ok: true; encrypt: unknown } | { ok: false; message: string; code?: string };

/** What qemu-img info shows as the LUKS parameters, from its JSON or from a parse. */
function luksData(fmt: 'luks' | 'qcow2', specific: any): unknown {
  if (fmt === 'luks') return specific.data;
  const { format, ...rest } = specific.data.encrypt;
  expect(format).toBe('luks');
  return rest;
}

function ours(fmt: 'luks' | 'qcow2', file: string): Verdict {
  const out = parseFile(fmt === 'luks' ? luks : qcow2, file);
  if (out.error) return { ok: false, message: out.error.message, code: out.error.code };
  return { ok: true, encrypt: luksData(fmt, (out.parsed as ParsedImage).header.formatSpecific) };
}

function qemus(fmt: 'luks' | 'qcow2', file: string): Verdict {
  const v = qemuVerdict(dir, file, fmt);
  return v.ok ? { ok: true, encrypt: luksData(fmt, v.info['format-specific']) } : { ok: false, message: v.message };
}

describe('luks: a raw LUKS volume and a LUKS-encrypted qcow2 get one verdict', () => {
  CASES.forEach(([what, patches], i) => {
    it(what, () => {
      const raw = path.join(dir, patchedCopy(dir, 'disk.luks', `case${i}.luks`, patches));
      const inQcow2 = patches.map(([off, bytes]): [number, Buffer] => [luksInQcow2 + off, bytes]);
      const q = path.join(dir, patchedCopy(dir, 'luks.qcow2', `case${i}.qcow2`, inQcow2));

      const viaRaw = ours('luks', raw);
      const viaQcow2 = ours('qcow2', q);
      const noCode = (v: Verdict) => (v.ok ? v : { ok: false, message: v.message });
      expect(noCode(viaRaw)).toEqual(qemus('luks', raw));
      expect(noCode(viaQcow2)).toEqual(qemus('qcow2', q));
      // The same header: the same refusal, or the same parameters bar what differs by container.
      if (viaRaw.ok && viaQcow2.ok) {
        const strip = (e: any) => ({ ...e, 'payload-offset': 0, 'master-key-iters': 0, uuid: '', slots: [] });
        expect(strip(viaRaw.encrypt)).toEqual(strip(viaQcow2.encrypt));
      } else {
        expect(viaRaw).toEqual(viaQcow2);
      }
    });
  });
});
