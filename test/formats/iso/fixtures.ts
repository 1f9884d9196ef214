// ISO 9660 fixtures: genisoimage when installed (Debian package "genisoimage"), and a minimal
// image made by hand (primary volume descriptor + terminator) for everything else.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export function hasGenisoimage(): boolean {
  try {
    execFileSync('genisoimage', ['-version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** genisoimage -V label over a folder holding one small file. */
export function makeIso(dir: string, name: string, label: string): string {
  const content = path.join(dir, `${name}.d`);
  fs.mkdirSync(content, { recursive: true });
  fs.writeFileSync(path.join(content, 'hello.txt'), 'hello\n');
  execFileSync('genisoimage', ['-quiet', '-J', '-V', label, '-o', path.join(dir, name), content]);
  return name;
}

/** A minimal ISO 9660 image: 16 system sectors, a PVD, a terminator, `extra` more sectors. */
export function handmadeIso(volumeId: string, extra = 2, blocks?: number): Buffer {
  const sectors = 18 + extra;
  const b = Buffer.alloc(sectors * 2048);
  const pvd = b.subarray(16 * 2048, 17 * 2048);
  pvd[0] = 1;
  pvd.write('CD001', 1, 'latin1');
  pvd[6] = 1;
  pvd.write('LINUX'.padEnd(32, ' '), 8, 'latin1');
  pvd.write(volumeId.padEnd(32, ' '), 40, 'latin1');
  pvd.writeUInt32LE(blocks ?? sectors, 80);
  pvd.writeUInt32BE(blocks ?? sectors, 84);
  pvd.writeUInt16LE(1, 120);
  pvd.writeUInt16BE(1, 122);
  pvd.writeUInt16LE(1, 124);
  pvd.writeUInt16BE(1, 126);
  pvd.writeUInt16LE(2048, 128);
  pvd.writeUInt16BE(2048, 130);
  const term = b.subarray(17 * 2048, 18 * 2048);
  term[0] = 255;
  term.write('CD001', 1, 'latin1');
  term[6] = 1;
  return b;
}
