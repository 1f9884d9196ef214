// The differential fuzzer: mutated seed images, each opened by the system qemu-img (`info
// --backing-chain --output=json`, several at a time, with a timeout) and by diskchain's in-process
// reproduction of it; both must refuse, or both must print the same JSON.
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { FormatName } from '../../../shared/model.js';
import { exactJson } from '../../../electron/node/core/exact-json.js';
import { qemuInfoChain } from '../../../electron/node/core/qemu-info.js';
import { parseQemuVersion, type QemuVersion } from '../../../electron/node/core/qemu-version.js';
import { tempDir } from '../../support/qemu.js';
import { mutate } from './mutate.js';
import { makeSeeds, type Seed } from './seeds.js';

export interface FuzzOptions {
  cases: number;
  seed: number;
  /** qemu-img processes at once. */
  concurrency?: number;
  /** Per qemu-img run. */
  timeoutMs?: number;
}

export interface Outcome {
  ok: boolean;
  /** The JSON array on success, the error line otherwise. */
  output: unknown;
  /** On success, the JSON text the array was parsed from. */
  text?: string;
}

export interface Disagreement {
  seed: number;
  caseNo: number;
  kind: string;
  steps: string[];
  /** A short name for what differs (which side refused, or which keys). */
  what: string;
  qemu: Outcome;
  diskchain: Outcome;
}

export interface FuzzReport {
  cases: number;
  ms: number;
  agreedRefusals: number;
  agreedOpens: number;
  /** Cases where qemu-img was not run: the bytes could name a path outside the fuzz folder. */
  guarded: number;
  /** Of the agreed opens, those with integers beyond 2^53 - 1, compared digit by digit. */
  over2p53: number;
  disagreements: Disagreement[];
}

/**
 * The integers beyond 2^53 - 1 in JSON text, as digits: JSON.parse rounds them, so both sides'
 * texts are compared on these too (a digit run inside a string appears alike on both sides).
 */
export function bigIntegers(jsonText: string): string[] {
  const max = BigInt(Number.MAX_SAFE_INTEGER);
  return [...jsonText.matchAll(/(?<![\d.])\d{16,}(?![\d.])/g)].map((m) => m[0]).filter((d) => BigInt(d) > max);
}

/**
 * qemu-img must only ever open files inside the fuzz folder: a mutated name that climbs out or is
 * absolute elsewhere could reach a FIFO or a device. The seeds name nothing outside it, so any such
 * text in a case's bytes comes from a mutation; qemu-img is then not run.
 */
export function namesOutside(bytes: Buffer, root: string): boolean {
  const s = bytes.toString('latin1');
  // A bare ".." names a folder, which qemu fails to open as an image; "../" climbs out.
  if (s.includes('../') || s.includes('/..') || s.includes('json:')) return true;
  for (const m of s.matchAll(/\/(?:dev|proc|sys|run|var|tmp|home|root|mnt|media|srv)\b/g)) {
    if (!s.startsWith(root, m.index)) return true;
  }
  return false;
}

/** Keys qemu-img prints that diskchain does not reproduce; none today. */
export const NOT_REPRODUCED: readonly string[] = [];

function strip(entries: unknown): unknown {
  if (!Array.isArray(entries) || NOT_REPRODUCED.length === 0) return entries;
  return entries.map((e: Record<string, unknown>) => Object.fromEntries(Object.entries(e).filter(([k]) => !NOT_REPRODUCED.includes(k))));
}

interface QemuRun {
  /** Exit status; null when a signal ended it. */
  status: number | null;
  /** Killed by the timeout (nothing else sends SIGKILL); a crash such as SIGABRT is a refusal. */
  timedOut: boolean;
  stdout: string;
  stderr: string;
}

function runQemu(file: string, format: string | undefined, timeoutMs: number): Promise<QemuRun> {
  return new Promise((resolve) => {
    const p = spawn('qemu-img', ['info', '--output=json', '--backing-chain', '-U', ...(format ? ['-f', format] : []), file], {
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: timeoutMs,
      killSignal: 'SIGKILL',
    });
    let stdout = '';
    let stderr = '';
    p.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    p.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    p.on('close', (status, signal) =>
      resolve({ status: signal ? null : status, timedOut: signal === 'SIGKILL', stdout, stderr: signal ? `killed by ${signal}` : stderr }),
    );
  });
}

/** The system qemu-img's version: diskchain imitates that one. */
export function systemQemuVersion(): QemuVersion {
  const v = parseQemuVersion(execFileSync('qemu-img', ['--version'], { encoding: 'utf8', timeout: 10_000 }));
  if (!v) throw new Error('qemu-img --version names no version');
  return v;
}

function diskchainInfo(file: string, format: string | undefined, qemuVersion: QemuVersion): Outcome {
  try {
    const r = qemuInfoChain(file, { format: format as FormatName | undefined, qemuVersion, exactIntegers: true });
    if (r.error !== null) return { ok: false, output: r.error };
    // Printed as `inspect --qemu-json` prints it, and parsed as qemu-img's output is.
    const text = exactJson(r.entries, 4);
    return { ok: true, output: JSON.parse(text), text };
  } catch (e) {
    return { ok: false, output: `threw: ${(e as Error).stack ?? String(e)}` };
  }
}

/** Writes only the non-zero 4 KiB blocks, so cases stay as sparse as their seeds. */
function writeSparse(file: string, bytes: Buffer): void {
  const fd = fs.openSync(file, 'w');
  try {
    const zero = Buffer.alloc(4096);
    for (let off = 0; off < bytes.length; off += 4096) {
      const block = bytes.subarray(off, off + 4096);
      if (!block.equals(zero.subarray(0, block.length))) fs.writeSync(fd, block, 0, block.length, off);
    }
    fs.ftruncateSync(fd, bytes.length);
    // Written back now: ext4 allocates extent-tree blocks at writeback, and st_blocks (qemu's
    // actual-size) grows by one block if that lands between diskchain's stat and qemu-img's.
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function differingKeys(q: unknown, d: unknown): string {
  if (!Array.isArray(q) || !Array.isArray(d)) return 'output';
  if (q.length !== d.length) return `chain length ${q.length} vs ${d.length}`;
  const keys: string[] = [];
  q.forEach((qe: Record<string, unknown>, i) => {
    const de = d[i] as Record<string, unknown>;
    for (const k of new Set([...Object.keys(qe), ...Object.keys(de)])) {
      if (!isDeepStrictEqual(qe[k], de[k])) keys.push(`[${i}].${k}`);
    }
  });
  return keys.length ? `keys ${keys.join(' ')}` : 'key order';
}

/** A pool of `n` workers over `jobs`. */
async function pool<T>(jobs: Array<() => Promise<T>>, n: number): Promise<T[]> {
  const out: T[] = new Array(jobs.length);
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const i = next++;
      out[i] = await jobs[i]!();
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, jobs.length) }, worker));
  return out;
}

const BATCH = 24;

export async function runFuzz(opts: FuzzOptions): Promise<FuzzReport> {
  const started = Date.now();
  const { dir: root, cleanup } = tempDir('fuzz-diff-');
  const report: FuzzReport = { cases: 0, ms: 0, agreedRefusals: 0, agreedOpens: 0, guarded: 0, over2p53: 0, disagreements: [] };
  try {
    const version = systemQemuVersion();
    const seeds = makeSeeds(root);
    for (let first = 0; first < opts.cases; first += BATCH) {
      const batch = Array.from({ length: Math.min(BATCH, opts.cases - first) }, (_, k) => {
        const caseNo = first + k;
        const seed: Seed = seeds[caseNo % seeds.length]!;
        const m = mutate(seed, (opts.seed * 1_000_003 + caseNo) >>> 0);
        const file = path.join(seed.dir, `c${caseNo}.${seed.ext}`);
        writeSparse(file, m.bytes);
        return { caseNo, seed, m, file, guarded: namesOutside(m.bytes, root) };
      });
      const timeout = opts.timeoutMs ?? 20_000;
      // A qemu-img killed by the timeout proves nothing either way: it gets one more, longer go.
      const once = async (c: (typeof batch)[number]) => {
        const r = await runQemu(c.file, c.seed.format, timeout);
        return r.timedOut ? runQemu(c.file, c.seed.format, timeout * 3) : r;
      };
      const qemu = pool(
        batch.map((c) => () => (c.guarded ? Promise.resolve(null) : once(c))),
        opts.concurrency ?? 3,
      );
      // diskchain runs here while the qemu-img processes run.
      const ours = batch.map((c) => diskchainInfo(c.file, c.seed.format, version));
      const theirs = await qemu;
      batch.forEach((c, k) => {
        report.cases++;
        fs.rmSync(c.file, { force: true });
        const q = theirs[k];
        if (!q) return void report.guarded++;
        const d = ours[k]!;
        let qo: Outcome;
        if (q.status === 0) {
          try {
            qo = { ok: true, output: JSON.parse(q.stdout), text: q.stdout };
          } catch {
            qo = { ok: false, output: `unparsable output: ${q.stdout}` };
          }
        } else qo = { ok: false, output: q.stderr.trim() };
        const hung = q.timedOut;
        if (!hung && !qo.ok && !d.ok) return void report.agreedRefusals++;
        const big = qo.ok ? bigIntegers(qo.text ?? '') : [];
        const sameBig = d.ok && isDeepStrictEqual(big, bigIntegers(d.text ?? ''));
        if (qo.ok && d.ok && sameBig && isDeepStrictEqual(strip(qo.output), strip(d.output))) {
          if (big.length) report.over2p53++;
          return void report.agreedOpens++;
        }
        const what = hung
          ? 'qemu-img did not finish'
          : qo.ok && d.ok
            ? sameBig
              ? differingKeys(qo.output, d.output)
              : 'integers beyond 2^53 - 1'
            : qo.ok
              ? 'diskchain refuses, qemu opens'
              : 'qemu refuses, diskchain opens';
        report.disagreements.push({ seed: opts.seed, caseNo: c.caseNo, kind: c.seed.kind, steps: c.m.steps, what, qemu: qo, diskchain: d });
      });
    }
  } finally {
    cleanup();
  }
  report.ms = Date.now() - started;
  return report;
}

/** One disagreement, readable: where it came from, what was done, both outputs. */
export function describeDisagreement(d: Disagreement): string {
  const show = (o: Outcome) => {
    const t = typeof o.output === 'string' ? o.output : JSON.stringify(o.output);
    return t.length > 3000 ? `${t.slice(0, 3000)}… (${t.length} characters)` : t;
  };
  return [
    `seed ${d.seed} case ${d.caseNo} (${d.kind}): ${d.what}`,
    `  mutation: ${d.steps.join('; ')}`,
    `  qemu-img:  ${show(d.qemu)}`,
    `  diskchain: ${show(d.diskchain)}`,
  ].join('\n');
}

/** Disagreements counted by format and what differs. */
export function classes(ds: Disagreement[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const d of ds) {
    const k = `${d.kind}: ${d.what.replace(/\[\d+\]\./g, '')}`;
    m.set(k, (m.get(k) ?? 0) + 1);
  }
  return m;
}
