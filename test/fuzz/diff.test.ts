// Differential fuzzing against the system qemu-img: a fixed seed, at least 2,000 mutated images of
// every format, and not one disagreement (both refuse, or both print the same JSON).
import { describe, expect, it } from 'vitest';
import { bigIntegers, classes, describeDisagreement, namesOutside, runFuzz } from './diff/fuzzer.js';

const CASES = Number(process.env.DISKCHAIN_FUZZ_DIFF_CASES ?? 2000);
const SEED = Number(process.env.DISKCHAIN_FUZZ_DIFF_SEED ?? 20261130);

describe('differential fuzzing against qemu-img', () => {
  it('keeps names inside the fuzz folder before qemu-img sees them', () => {
    const root = '/tmp/fuzz-diff-abc';
    expect(namesOutside(Buffer.from(`x\0${root}/s0/base.qcow2\0`), root)).toBe(false);
    expect(namesOutside(Buffer.from('x\0/dev/zero\0'), root)).toBe(true);
    expect(namesOutside(Buffer.from('../../tmp/fifo'), root)).toBe(true);
    expect(namesOutside(Buffer.from('/tmp/other/f'), root)).toBe(true);
  });

  it('compares integers past 2^53 - 1 by their digits, which JSON.parse would round', () => {
    expect(bigIntegers('[{"virtual-size": 9007199254740993, "a": 9007199254740991}]')).toEqual(['9007199254740993']);
    expect(bigIntegers('[{"virtual-size": 9007199254740993}]')).not.toEqual(bigIntegers('[{"virtual-size": 9007199254740992}]'));
    expect(bigIntegers('[{"v": 1.90071992547409931}]')).toEqual([]);
  });

  it(`agrees with qemu-img on ${CASES} mutated images (seed ${SEED})`, async () => {
    const r = await runFuzz({ cases: CASES, seed: SEED, concurrency: 3 });
    const summary = [...classes(r.disagreements)].map(([k, n]) => `${n} × ${k}`);
    console.log(
      `fuzz:diff ${r.cases} cases in ${(r.ms / 1000).toFixed(1)} s: ${r.agreedOpens} both open, ${r.agreedRefusals} both refuse, ` +
        `${r.over2p53} with sizes over 2^53 compared exactly, ${r.guarded} not run`,
    );
    expect(r.cases).toBe(CASES);
    // Most cases must really have run through both, or the comparison proves little.
    expect(r.agreedOpens + r.agreedRefusals + r.disagreements.length).toBeGreaterThan(CASES * 0.95);
    expect(r.agreedOpens).toBeGreaterThan(CASES * 0.2);
    expect(r.agreedRefusals).toBeGreaterThan(CASES * 0.2);
    expect([...summary, ...r.disagreements.map(describeDisagreement)].join('\n\n')).toBe('');
  }, 600_000);
});
