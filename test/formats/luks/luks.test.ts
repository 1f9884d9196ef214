import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { luks } from '../../../electron/node/core/formats/luks.js';
import { raw } from '../../../electron/node/core/formats/raw.js';
import { qemuInfo, tempDir } from '../../support/qemu.js';
import { bytesRefusal, expectBothRefuse, expectLikeQemu, patchedCopy, probeAndParse } from '../raw/common.js';
import { LUKS, be16, be32, cstr, makeLuks } from './fixtures.js';

let dir: string;
let cleanup: () => void;

beforeAll(() => {
  ({ dir, cleanup } = tempDir('diskchain-luks-'));
  makeLuks(dir, 'disk.luks', '16M');
  makeLuks(dir, 'essiv.luks', '1M', ['cipher-alg=aes-128', 'cipher-mode=cbc', 'ivgen-alg=essiv', 'ivgen-hash-alg=sha256', 'hash-alg=sha1']);
  makeLuks(dir, 'twofish.luks', '1M', ['cipher-alg=twofish-256', 'cipher-mode=xts', 'hash-alg=sha512']);
});

afterAll(() => cleanup());

const at = (name: string) => path.join(dir, name);

function check(name: string): void {
  const { probed, parsed } = probeAndParse(at(name), luks);
  expect(probed).toBe('luks');
  expectLikeQemu(parsed, qemuInfo(dir, name));
}

describe('luks: images made by qemu-img', () => {
  it('default LUKS1 (aes-256 xts-plain64, sha256)', () => {
    check('disk.luks');
    const { parsed } = probeAndParse(at('disk.luks'), luks);
    expect(parsed.header.encrypted).toBe(true);
    expect(parsed.header.fields.active_slots).toBe(1);
  });

  it('essiv with a hash (ivgen-hash-alg is shown)', () => {
    check('essiv.luks');
    const fs_ = probeAndParse(at('essiv.luks'), luks).parsed.header.formatSpecific as any;
    expect(fs_.data['ivgen-hash-alg']).toBe('sha256');
  });

  it('twofish', () => check('twofish.luks'));

  it('a payload not a whole number of sectors: the size is rounded up', () => {
    patchedCopy(dir, 'disk.luks', 'odd.luks', [], fs.statSync(at('disk.luks')).size - 16 * 1024 * 1024 + 520);
    check('odd.luks');
  });

  it('an empty payload', () => {
    const payload = probeAndParse(at('disk.luks'), luks).parsed.header.fields.payload_offset_sector as number;
    patchedCopy(dir, 'disk.luks', 'nopayload.luks', [], payload * 512);
    check('nopayload.luks');
  });

  it('a key slot offset that wraps in 32 bits passes, as in qemu', () => {
    patchedCopy(dir, 'disk.luks', 'wrap.luks', [[LUKS.slot(3) + LUKS.slotKeyOffset, be32(0xfffffff0)]]);
    check('wrap.luks');
  });
});

describe('luks: malformed headers', () => {
  it('LUKS2: qemu 7.2 probes it as raw and refuses it as luks', () => {
    patchedCopy(dir, 'disk.luks', 'v2.luks', [[LUKS.version, be16(2)]]);
    const { probed } = probeAndParse(at('v2.luks'), raw);
    expect(probed).toBe('raw');
    expect(qemuInfo(dir, 'v2.luks').format).toBe('raw');
    const e = expectBothRefuse(dir, 'v2.luks', 'luks', luks, 'LUKS version 2 is not supported');
    expect(e.code).toBe('unsupported-feature');
  });

  it('bad magic', () => {
    patchedCopy(dir, 'disk.luks', 'magic.luks', [[0, Buffer.from('LUKX')]]);
    expectBothRefuse(dir, 'magic.luks', 'luks', luks, 'Volume is not in LUKS format');
  });

  it('truncated header', () => {
    patchedCopy(dir, 'disk.luks', 'trunc.luks', [], 100);
    expectBothRefuse(dir, 'trunc.luks', 'luks', luks, 'LUKS payload is overlapping with the header');
  });

  it('truncated inside the key slots', () => {
    patchedCopy(dir, 'disk.luks', 'trunc2.luks', [], 300);
    expectBothRefuse(dir, 'trunc2.luks', 'luks', luks, 'Keyslot 1 is corrupted (stripes 0 != 4000)');
  });

  it('a payload past the end of the file', () => {
    patchedCopy(dir, 'disk.luks', 'short.luks', [], 1 << 20);
    expectBothRefuse(dir, 'short.luks', 'luks', luks, 'Could not refresh total sector count: Input/output error');
  });

  it('a cipher name without its NUL', () => {
    patchedCopy(dir, 'disk.luks', 'nul.luks', [[LUKS.cipherName, Buffer.alloc(32, 0x61)]]);
    expectBothRefuse(dir, 'nul.luks', 'luks', luks, 'LUKS header cipher name is not NUL terminated');
  });

  it('a hash spec without its NUL', () => {
    patchedCopy(dir, 'disk.luks', 'nulh.luks', [[LUKS.hashSpec, Buffer.alloc(32, 0x61)]]);
    expectBothRefuse(dir, 'nulh.luks', 'luks', luks, 'LUKS header hash spec is not NUL terminated');
  });

  it('zero master key iterations', () => {
    patchedCopy(dir, 'disk.luks', 'iter.luks', [[LUKS.masterKeyIterations, be32(0)]]);
    expectBothRefuse(dir, 'iter.luks', 'luks', luks, 'LUKS key iteration count is zero');
  });

  it('a key slot inside the header', () => {
    patchedCopy(dir, 'disk.luks', 'slothdr.luks', [[LUKS.slot(0) + LUKS.slotKeyOffset, be32(1)]]);
    expectBothRefuse(dir, 'slothdr.luks', 'luks', luks, 'Keyslot 0 is overlapping with the LUKS header');
  });

  it('a key slot inside the payload', () => {
    patchedCopy(dir, 'disk.luks', 'slotpay.luks', [[LUKS.slot(7) + LUKS.slotKeyOffset, be32(4000)]]);
    expectBothRefuse(dir, 'slotpay.luks', 'luks', luks, 'Keyslot 7 is overlapping with the encrypted payload');
  });

  it('two key slots overlapping', () => {
    patchedCopy(dir, 'disk.luks', 'slotover.luks', [[LUKS.slot(2) + LUKS.slotKeyOffset, be32(8)]]);
    expectBothRefuse(dir, 'slotover.luks', 'luks', luks, 'Keyslots 0 and 2 are overlapping in the header');
  });

  it('an absurd key slot offset', () => {
    patchedCopy(dir, 'disk.luks', 'slotfar.luks', [[LUKS.slot(1) + LUKS.slotKeyOffset, be32(0x7fffffff)]]);
    expectBothRefuse(dir, 'slotfar.luks', 'luks', luks, 'Keyslot 1 is overlapping with the encrypted payload');
  });

  it('bad stripes', () => {
    patchedCopy(dir, 'disk.luks', 'stripes.luks', [[LUKS.slot(3) + LUKS.slotStripes, be32(5)]]);
    expectBothRefuse(dir, 'stripes.luks', 'luks', luks, 'Keyslot 3 is corrupted (stripes 5 != 4000)');
  });

  it('bad slot state', () => {
    patchedCopy(dir, 'disk.luks', 'state.luks', [[LUKS.slot(2) + LUKS.slotActive, be32(1)]]);
    expectBothRefuse(dir, 'state.luks', 'luks', luks, 'Keyslot 2 state (active/disable) is corrupted');
  });

  it('an active slot without iterations', () => {
    patchedCopy(dir, 'disk.luks', 'slotiter.luks', [[LUKS.slot(0) + LUKS.slotIterations, be32(0)]]);
    expectBothRefuse(dir, 'slotiter.luks', 'luks', luks, 'Keyslot 0 iteration count is zero');
  });

  it('unknown cipher', () => {
    patchedCopy(dir, 'disk.luks', 'cipher.luks', [[LUKS.cipherName, cstr('foo', 32)]]);
    expectBothRefuse(dir, 'cipher.luks', 'luks', luks, "Algorithm 'foo' with key size 32 bytes not supported");
  });

  it('a cipher mode without an IV generator', () => {
    patchedCopy(dir, 'disk.luks', 'mode.luks', [[LUKS.cipherMode, cstr('xtsplain', 32)]]);
    expectBothRefuse(dir, 'mode.luks', 'luks', luks, "Unexpected cipher mode string format 'xtsplain'");
  });

  it('unknown IV generator', () => {
    patchedCopy(dir, 'disk.luks', 'ivgen.luks', [[LUKS.cipherMode, cstr('xts-bogus', 32)]]);
    expectBothRefuse(dir, 'ivgen.luks', 'luks', luks, "IV generator 'bogus' not supported");
  });

  it('unknown IV hash', () => {
    patchedCopy(dir, 'disk.luks', 'ivhash.luks', [[LUKS.cipherMode, cstr('xts-plain64:sha2', 32)]]);
    expectBothRefuse(dir, 'ivhash.luks', 'luks', luks, "Hash algorithm 'sha2' not supported");
  });

  it('essiv without a hash', () => {
    patchedCopy(dir, 'disk.luks', 'essiv.luks2', [
      [LUKS.cipherMode, cstr('cbc-essiv', 32)],
      [LUKS.masterKeyLen, be32(32)],
    ]);
    expectBothRefuse(dir, 'essiv.luks2', 'luks', luks, 'Missing IV generator hash specification');
  });

  it('essiv with a hash no AES key size matches', () => {
    patchedCopy(dir, 'disk.luks', 'essiv2.luks', [
      [LUKS.cipherMode, cstr('cbc-essiv:sha1', 32)],
      [LUKS.masterKeyLen, be32(32)],
    ]);
    expectBothRefuse(dir, 'essiv2.luks', 'luks', luks, 'No AES cipher with key size 20 available');
  });

  it('an unknown hash', () => {
    patchedCopy(dir, 'disk.luks', 'hash.luks', [[LUKS.hashSpec, cstr('sha2566', 32)]]);
    expectBothRefuse(dir, 'hash.luks', 'luks', luks, "Hash algorithm 'sha2566' not supported");
  });

  it('an empty header in memory', () => {
    expect(bytesRefusal(luks, Buffer.alloc(0)).message).toBe('Volume is not in LUKS format');
  });
});
