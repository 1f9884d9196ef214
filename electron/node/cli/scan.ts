// `diskchain scan DIR... [--json]`
import type { Command } from 'commander';
import type { ScanResult } from '../../../shared/scan.js';
import { humanSize } from '../../../shared/text.js';
import { scan } from '../core/scan.js';
import { textLines, writeOut } from './output.js';

// `--json` in pieces: a forest of 110,000 files is never held as one string. The document is the
// ScanResult's JSON, keys in the same order; its long arrays are written a slice at a time.
/** Array elements per piece. */
const SLICE = 512;

/** The JSON of `r`, as pieces whose concatenation is `JSON.stringify(r)`. */
export function* scanJsonPieces(r: ScanResult): Generator<string> {
  let sep = '{';
  for (const [key, value] of Object.entries(r)) {
    if (value === undefined) continue;
    const head = `${sep}${JSON.stringify(key)}:`;
    sep = ',';
    if (!Array.isArray(value) || value.length <= SLICE) {
      yield head + JSON.stringify(value);
      continue;
    }
    yield `${head}[`;
    for (let i = 0; i < value.length; i += SLICE) {
      const piece = value.slice(i, i + SLICE).map((v) => JSON.stringify(v) ?? 'null');
      yield (i === 0 ? '' : ',') + piece.join(',');
    }
    yield ']';
  }
  yield sep === '{' ? '{}' : '}';
}

export function renderScan(r: ScanResult): string {
  const s = r.summary;
  const by = new Map(r.files.map((f) => [f.path, f]));
  const out = [
    `${s.files} files: ${s.tops} tops, ${s.sharedBases} shared bases, ${s.dataFiles} data files, ${s.orphans} orphans, ${s.broken} broken chains, ${s.problems} problems`,
  ];
  for (const c of r.chains) {
    out.push(`${c.broken ? '✗' : '•'} ${c.top}  (${c.files.length} files, ${humanSize(c.allocated)} allocated)`);
    for (const p of c.files.slice(1)) out.push(`    ${by.get(p)?.usedBy.length && by.get(p)!.usedBy.length > 1 ? 'shared ' : ''}${p}`);
  }
  if (r.orphans.length) out.push('orphans (nothing uses them):', ...r.orphans.map((o) => `    ${o}`));
  const withProblems = r.files.filter((f) => f.problems.length > 0);
  if (withProblems.length) out.push('files with problems:');
  for (const f of withProblems) out.push(`    ${f.path}`, ...f.problems.map((p) => `      ! ${p.code}: ${p.message}`));
  return textLines(out) + '\n';
}

export function registerScan(program: Command): void {
  program
    .command('scan')
    .description('find every image under folders by its header and show the forest of chains')
    .argument('<dir...>', 'folders to scan (storage pools)')
    .option('--json', 'print the whole forest as JSON (see shared/scan.ts)')
    .action(async (dirs: string[], opts: { json?: boolean }) => {
      const r = scan(dirs);
      if (!opts.json) return writeOut(renderScan(r));
      // Written as it is made, each piece after stdout took the last: never the whole text at once.
      for (const piece of scanJsonPieces(r)) await writeOut(piece);
      await writeOut('\n');
    });
}
