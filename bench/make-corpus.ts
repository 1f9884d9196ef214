// The benchmark corpus, made by the project itself:
//   OUT/pool  BASES qcow2 bases, each with a raw data file and 9 qcow2 overlays on it: 11 files
//             a base (1,000 bases = 11,000 files by default; --files 110000 for the large pool);
//   OUT/deep  a 1,000-deep chain c0 <- c1 <- ... <- c999, c0 with a raw data file.
// qemu-img makes one base and one overlay; every other file is a copy with the names patched in
// place, so 110,000 files take seconds, not hours. Usage:
//   node --import tsx bench/make-corpus.ts OUT [--files N] [--no-deep]
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export const FILES_PER_BASE = 11;
const OVERLAYS_PER_BASE = FILES_PER_BASE - 2;
const DEEP = 1000;
const VIRTUAL_SIZE = '64M';

export interface CorpusOptions {
  /** How many files the pool holds (rounded down to whole bases of 11 files). */
  files?: number;
  /** Make the 1,000-deep chain too. */
  deep?: boolean;
}

function qemuImg(cwd: string, ...args: string[]): void {
  execFileSync('qemu-img', args, { cwd, stdio: ['ignore', 'ignore', 'inherit'] });
}

/** A copy of `buf` with `to` written at `at` (a name replaced by one of the same length). */
function patchAt(buf: Buffer, at: number, to: string): Buffer {
  const out = Buffer.from(buf);
  out.write(to, at, 'latin1');
  return out;
}

function offsetOf(buf: Buffer, name: string): number {
  const at = buf.indexOf(name, 0, 'latin1');
  if (at < 0 || buf.indexOf(name, at + 1, 'latin1') >= 0) throw new Error(`template does not hold '${name}' exactly once`);
  return at;
}

/** Make the corpus in `out` (emptied first). Returns the pool and deep folders. */
export function makeCorpus(out: string, opts: CorpusOptions = {}): { pool: string; deep: string; files: number } {
  const bases = Math.max(1, Math.floor((opts.files ?? 11_000) / FILES_PER_BASE));
  const width = Math.max(4, String(bases - 1).length);
  const id = (i: number) => String(i).padStart(width, '0');
  const pool = path.join(out, 'pool');
  const deep = path.join(out, 'deep');
  const tmpl = path.join(out, 'template');
  fs.rmSync(out, { recursive: true, force: true });
  for (const d of [pool, deep, tmpl]) fs.mkdirSync(d, { recursive: true });

  const base0 = `base${id(0)}`;
  qemuImg(tmpl, 'create', '-q', '-f', 'qcow2', '-o', `data_file=${base0}.raw,data_file_raw=on`, `${base0}.qcow2`, VIRTUAL_SIZE);
  qemuImg(tmpl, 'create', '-q', '-f', 'qcow2', '-b', `${base0}.qcow2`, '-F', 'qcow2', 'overlay.qcow2');
  const base = fs.readFileSync(path.join(tmpl, `${base0}.qcow2`));
  const overlay = fs.readFileSync(path.join(tmpl, 'overlay.qcow2'));
  const dataAt = offsetOf(base, `${base0}.raw`);
  const backingAt = Number(overlay.readBigUInt64BE(8));
  if (overlay.toString('latin1', backingAt, backingAt + overlay.readUInt32BE(16)) !== `${base0}.qcow2`) {
    throw new Error('the overlay template does not name its base where its header says');
  }

  for (let i = 0; i < bases; i++) {
    const b = `base${id(i)}`;
    fs.writeFileSync(path.join(pool, `${b}.qcow2`), patchAt(base, dataAt, `${b}.raw`));
    fs.writeFileSync(path.join(pool, `${b}.raw`), '');
    fs.truncateSync(path.join(pool, `${b}.raw`), 64 << 20);
    const ov = patchAt(overlay, backingAt, `${b}.qcow2`);
    for (let j = 0; j < OVERLAYS_PER_BASE; j++) fs.writeFileSync(path.join(pool, `vm${id(i)}-${j}.qcow2`), ov);
  }

  if (opts.deep !== false) {
    qemuImg(deep, 'create', '-q', '-f', 'qcow2', '-o', 'data_file=c0.raw', 'c0.qcow2', VIRTUAL_SIZE);
    const room = overlay.readUInt32BE(16);
    for (let i = 1; i < DEEP; i++) {
      const name = `c${i - 1}.qcow2`;
      if (name.length > room) throw new Error(`no room for '${name}' in the overlay template`);
      const o = Buffer.from(overlay);
      o.fill(0, backingAt, backingAt + room);
      o.write(name, backingAt, 'latin1');
      o.writeUInt32BE(name.length, 16);
      fs.writeFileSync(path.join(deep, `c${i}.qcow2`), o);
    }
  }
  fs.rmSync(tmpl, { recursive: true, force: true });
  return { pool, deep, files: bases * FILES_PER_BASE };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const out = args.find((a) => !a.startsWith('--'));
  const i = args.indexOf('--files');
  if (!out) {
    process.stderr.write('usage: make-corpus.ts OUT [--files N] [--no-deep]\n');
    process.exit(2);
  }
  const r = makeCorpus(path.resolve(out), { files: i >= 0 ? Number(args[i + 1]) : undefined, deep: !args.includes('--no-deep') });
  console.log(`pool: ${r.files} files in ${r.pool}; deep: ${DEEP} levels in ${path.resolve(out, 'deep')}`);
}
