import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bufferSource } from '../../../electron/node/core/source.js';
import { probeFormat } from '../../../electron/node/core/formats/index.js';
import { iso } from '../../../electron/node/core/formats/iso.js';
import { raw } from '../../../electron/node/core/formats/raw.js';
import { qemuInfo, tempDir } from '../../support/qemu.js';
import { bytesRefusal, expectLikeQemu, probeAndParse } from '../raw/common.js';
import { handmadeIso, hasGenisoimage, makeIso } from './fixtures.js';

let dir: string;
let cleanup: () => void;

beforeAll(() => {
  ({ dir, cleanup } = tempDir('diskchain-iso-'));
});

afterAll(() => cleanup());

const at = (name: string) => path.join(dir, name);

describe('iso: valid images (qemu opens them as raw)', () => {
  it.skipIf(!hasGenisoimage())('made by genisoimage', () => {
    makeIso(dir, 'disc.iso', 'MYVOL');
    const { probed, parsed } = probeAndParse(at('disc.iso'), iso);
    expect(probed).toBe('iso');
    expect(parsed.header.format).toBe('iso');
    const info = qemuInfo(dir, 'disc.iso');
    expect(info.format).toBe('raw');
    expectLikeQemu(parsed, info);
    expect(parsed.header.fields.volume_id).toBe('MYVOL');
    expect(parsed.header.fields.joliet).toBe(true);
    expect(parsed.header.fields.volume_size).toBe(fs.statSync(at('disc.iso')).size);
    expect(parsed.header.fields.truncated).toBe(false);
  });

  it('made by hand', () => {
    fs.writeFileSync(at('hand.iso'), handmadeIso('HANDMADE'));
    const { probed, parsed } = probeAndParse(at('hand.iso'), iso);
    expect(probed).toBe('iso');
    expectLikeQemu(parsed, qemuInfo(dir, 'hand.iso'));
    expect(parsed.header.fields.volume_id).toBe('HANDMADE');
    expect(parsed.header.fields.terminated).toBe(true);
  });

  it('scores above raw only', () => {
    const src = bufferSource(handmadeIso('X'));
    expect(iso.probe(src)).toBe(2);
    expect(raw.probe(src)).toBe(1);
    expect(probeFormat(src)).toBe('iso');
  });
});

describe('iso: malformed images', () => {
  it('truncated before the volume descriptor: plain raw', () => {
    const b = handmadeIso('CUT').subarray(0, 16 * 2048 + 3);
    fs.writeFileSync(at('cut.iso'), b);
    const { probed } = probeAndParse(at('cut.iso'), raw);
    expect(probed).toBe('raw');
    expect(bytesRefusal(iso, b).message).toContain('not an ISO 9660 image');
  });

  it('truncated inside the volume: still ISO 9660, marked truncated, sized like raw', () => {
    fs.writeFileSync(at('short.iso'), handmadeIso('SHORT', 2, 1000).subarray(0, 17 * 2048 + 100));
    const { probed, parsed } = probeAndParse(at('short.iso'), iso);
    expect(probed).toBe('iso');
    expect(parsed.header.fields.truncated).toBe(true);
    expect(parsed.header.fields.terminated).toBe(false);
    expectLikeQemu(parsed, qemuInfo(dir, 'short.iso'));
  });

  it('an endless run of volume descriptors is cut short', () => {
    const b = Buffer.alloc(200 * 2048);
    for (let i = 16; i < 200; i++) {
      b[i * 2048] = 2;
      b.write('CD001', i * 2048 + 1, 'latin1');
    }
    const src = bufferSource(b);
    const parsed = iso.parse(src);
    expect(parsed.header.fields.primary_descriptor).toBe(false);
    expect(String(parsed.header.fields.descriptor_types).split(',')).toHaveLength(32);
    expect(src.bytesRead).toBeLessThan(100 * 1024);
  });
});
