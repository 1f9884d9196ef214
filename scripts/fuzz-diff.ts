// `npm run fuzz:diff -- --cases N [--seed S] [--jobs J]`: the differential fuzzer of
// test/fuzz/diff against the system qemu-img, with a summary and every disagreement.
import { parseArgs } from 'node:util';
import { classes, describeDisagreement, runFuzz } from '../test/fuzz/diff/fuzzer.js';

const { values } = parseArgs({
  options: {
    cases: { type: 'string', default: '2000' },
    seed: { type: 'string', default: '1' },
    jobs: { type: 'string', default: '3' },
  },
});
const cases = Number(values.cases);
const seed = Number(values.seed);
const concurrency = Number(values.jobs);
if (!Number.isInteger(cases) || cases < 1 || !Number.isInteger(seed) || !Number.isInteger(concurrency) || concurrency < 1) {
  console.error('usage: npm run fuzz:diff -- --cases N [--seed S] [--jobs J]');
  process.exit(2);
}

const r = await runFuzz({ cases, seed, concurrency });
for (const d of r.disagreements) console.log(describeDisagreement(d));
console.log(
  `\n${r.cases} cases, seed ${seed}, ${(r.ms / 1000).toFixed(1)} s: ${r.agreedOpens} both open, ${r.agreedRefusals} both refuse, ` +
    `${r.disagreements.length} disagree (${r.over2p53} with sizes over 2^53 compared exactly), ${r.guarded} not run (names outside)`,
);
for (const [k, n] of [...classes(r.disagreements)].sort((a, b) => b[1] - a[1])) console.log(`  ${n}\t${k}`);
process.exit(r.disagreements.length ? 1 : 0);
