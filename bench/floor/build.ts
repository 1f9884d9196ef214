// The C floors the bench compares with (bench/floor/NAME.c), compiled with `cc -O2` into
// .bench/floor/ when the source is newer than the binary.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '../..');

/** The binary of bench/floor/`name`.c, built if need be. */
export function floorBinary(name: string): string {
  const src = path.join(import.meta.dirname, `${name}.c`);
  const out = path.join(ROOT, '.bench/floor', name);
  if (!fs.existsSync(out) || fs.statSync(out).mtimeMs < fs.statSync(src).mtimeMs) {
    fs.mkdirSync(path.dirname(out), { recursive: true });
    execFileSync('cc', ['-O2', '-Wall', '-o', out, src], { stdio: 'inherit' });
  }
  return out;
}
