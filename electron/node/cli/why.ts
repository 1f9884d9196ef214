// `diskchain why IMAGE [--user U] [--group G] [--json]`: can the VM's user open every file of the
// chain, and if not, why, one line each. `diskchain why --from-log FILE|- [--in DIR]`: explain the
// denials of a qemu, libvirt, audit or kernel log. Exit 0 when everything opens, 1 when something
// is blocked, 2 on bad input.
import * as fs from 'node:fs';
import { Command } from 'commander';
import { verdictHeadline, type Denial, type Verdict } from '../../../shared/verdict.js';
import { errorText } from '../../../shared/error-text.js';
import { explainDenials } from '../access/denial.js';
import { verdictFor } from '../access/verdict.js';
import { openRegularFile } from '../core/open.js';
import { collect } from './options.js';
import { textLines, warn, writeOut } from './output.js';

/** A log is read up to this size (the last 8 MiB of a larger file). */
const MAX_LOG = 8 << 20;
const EXIT_BLOCKED = 1;
const EXIT_BAD_INPUT = 2;

interface Opts {
  user?: string;
  group?: string;
  json?: boolean;
  fromLog?: string;
  in: string[];
}

class BadInput extends Error {}

export function verdictLines(v: Verdict, indent = ''): string[] {
  const lines = [indent + verdictHeadline(v)];
  for (const b of v.blockers) lines.push(`${indent}  ${b.kind.padEnd(12)} ${b.reason}`);
  for (const n of v.notes) lines.push(`${indent}  note: ${n.kind} ${n.reason} (blocks nothing on this host)`);
  for (const r of v.remarks) lines.push(`${indent}  note: ${r}`);
  return lines;
}

function denialLines(d: Denial, i: number): string[] {
  const lines = [`denial ${i + 1} (${d.source}, line ${d.line}): ${d.named}`];
  if (d.file) lines.push(`  file: ${d.file}${d.top && d.top !== d.file ? ` (in the chain of ${d.top})` : ''}`);
  lines.push(`  subject: ${d.subject.text}`);
  for (let k = 0; k < d.layers.length; k++) lines.push(`  layer: ${d.layers[k]}: ${d.explanation[k] ?? ''}`);
  for (const p of d.problems) lines.push(`  problem: ${p}`);
  if (d.verdict) lines.push(...verdictLines(d.verdict, '  '));
  return lines;
}

function readLogFile(name: string): string {
  const { fd, size } = openRegularFile(name);
  try {
    const len = Math.min(size, MAX_LOG);
    const buf = Buffer.alloc(len);
    let got = 0;
    while (got < len) {
      const n = fs.readSync(fd, buf, got, len - got, size - len + got);
      if (n === 0) break;
      got += n;
    }
    const text = buf.subarray(0, got).toString('utf8');
    // A cut start is no whole line.
    return size > len ? text.slice(text.indexOf('\n') + 1) : text;
  } finally {
    fs.closeSync(fd);
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const c of process.stdin as AsyncIterable<Buffer>) {
    chunks.push(c.subarray(0, MAX_LOG - total));
    total += Math.min(c.length, MAX_LOG - total);
    if (total >= MAX_LOG) {
      warn('diskchain why: only the first 8 MiB of standard input read');
      break;
    }
  }
  return Buffer.concat(chunks).toString('utf8');
}

async function run(image: string | undefined, o: Opts): Promise<void> {
  const who = { user: o.user, group: o.group };
  if (o.fromLog !== undefined) {
    if (image !== undefined) throw new BadInput('give either IMAGE or --from-log, not both');
    let text: string;
    try {
      text = o.fromLog === '-' ? await readStdin() : readLogFile(o.fromLog);
    } catch (e) {
      throw new BadInput(`${o.fromLog}: ${errorText(e)}`);
    }
    const { denials, skippedLines } = explainDenials(text, { in: o.in, who });
    if (o.json) await writeOut(JSON.stringify(denials, null, 2) + '\n');
    else {
      const lines = denials.length ? denials.flatMap((d, i) => [...denialLines(d, i), '']) : ['no denial found'];
      if (skippedLines) lines.push(`${skippedLines} line(s) too long to read were skipped`);
      await writeOut(textLines(lines) + '\n');
    }
    if (denials.some((d) => d.verdict?.state !== 'ok')) process.exitCode = EXIT_BLOCKED;
    return;
  }
  if (image === undefined) throw new BadInput('give an IMAGE, or --from-log FILE');
  try {
    if (!fs.statSync(image).isFile()) throw new Error('not a regular file');
  } catch (e) {
    throw new BadInput(`${image}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : errorText(e)}`);
  }
  let v: Verdict;
  try {
    v = verdictFor(image, who);
  } catch (e) {
    throw new BadInput(errorText(e));
  }
  await writeOut(o.json ? JSON.stringify(v, null, 2) + '\n' : textLines(verdictLines(v)) + '\n');
  if (v.state !== 'ok') process.exitCode = EXIT_BLOCKED;
}

export function registerWhy(program: Command): void {
  program
    .command('why [image]')
    .description("say whether the VM's user can open every file of a chain and what stops it; or explain the denials of a log")
    .option('--user <user>', "the VM's user, a name or +N (default: libvirt's)")
    .option('--group <group>', "the VM's group, a name or +N (default: libvirt's)")
    .option('--from-log <file>', 'explain the denials in this log (qemu, libvirt, audit.log, kernel); - for standard input')
    .option('--in <dir>', 'with --from-log: look for files named by SELinux records here (repeatable)', collect, [])
    .option('--json', 'print JSON')
    .action(async (image: string | undefined, o: Opts) => {
      try {
        await run(image, o);
      } catch (e) {
        if (!(e instanceof BadInput)) throw e;
        warn(`diskchain why: ${e.message}`);
        process.exitCode = EXIT_BAD_INPUT;
      }
    });
}
