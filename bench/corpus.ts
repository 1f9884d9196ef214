// The benchmark corpus (make-corpus.ts), built once and reused; DISKCHAIN_BENCH_FILES=110000 for the large pool.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeCorpus } from './make-corpus.js';

const ROOT = path.resolve(import.meta.dirname, '..');

export interface Corpus {
  pool: string;
  deep: string;
  /** The top of the 1,000-deep chain. */
  deepTop: string;
}

/** The corpus of `files` files, made unless a complete one is there (a large one takes minutes). */
export function corpusOf(files: number, dir = path.join(ROOT, `.bench/corpus-${files}`)): Corpus {
  const corpus = { pool: path.join(dir, 'pool'), deep: path.join(dir, 'deep'), deepTop: path.join(dir, 'deep/c999.qcow2') };
  const complete = fs.existsSync(corpus.deepTop) && fs.existsSync(corpus.pool) && fs.readdirSync(corpus.pool).length === files;
  if (!complete) {
    process.stderr.write(`building the bench corpus (${files} files) in ${dir} ...\n`);
    makeCorpus(dir, { files });
  }
  return corpus;
}

export function benchCorpus(): Corpus {
  const files = Number(process.env.DISKCHAIN_BENCH_FILES ?? 11_000);
  return corpusOf(files, process.env.DISKCHAIN_BENCH_DIR);
}
