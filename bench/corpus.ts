// The shared benchmark corpus (../shared/bench/make-bench-corpus.py), built once and reused.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..');
const SCRIPT = path.resolve(ROOT, '../shared/bench/make-bench-corpus.py');

export interface Corpus {
  pool: string;
  deep: string;
  /** The top of the 1,000-deep chain. */
  deepTop: string;
}

export function benchCorpus(): Corpus {
  const dir = process.env.DISKCHAIN_BENCH_DIR ?? path.join(ROOT, '.bench/corpus');
  const corpus = { pool: path.join(dir, 'pool'), deep: path.join(dir, 'deep'), deepTop: path.join(dir, 'deep/c999.qcow2') };
  const complete = fs.existsSync(corpus.deepTop) && fs.existsSync(corpus.pool) && fs.readdirSync(corpus.pool).length === 11_000;
  if (!complete) {
    if (!fs.existsSync(SCRIPT)) throw new Error(`${SCRIPT} not found: the bench needs ../shared beside the project`);
    process.stderr.write(`building the bench corpus in ${dir} ...\n`);
    execFileSync('python3', [SCRIPT, dir], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  return corpus;
}
