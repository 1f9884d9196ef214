// `diskchain inspect PATH [--json | --qemu-json [--qemu-version X.Y]] [--format FMT]`
import { Command, Option } from 'commander';
import type { ChainNode, FormatName, ProblemCode } from '../../../shared/model.js';
import { escapeName, escapeText } from '../../../shared/escape.js';
import { humanSize, modeString, ownerString } from '../../../shared/text.js';
import { inspect } from '../core/chain.js';
import { FORMATS } from '../core/formats/index.js';
import { exactJson } from '../core/exact-json.js';
import { qemuInfoChain } from '../core/qemu-info.js';
import { selectQemuVersion } from '../core/qemu-version.js';
import { warn, writeOut } from './output.js';

/** Problems on the top image that mean it could not be read at all: the command fails. */
const FATAL_ON_TOP: ReadonlySet<ProblemCode> = new Set([
  'missing',
  'unreadable',
  'loop',
  'not-regular',
  'device',
  'unsafe-path',
  'invalid-header',
  'unsupported-feature',
]);

/** The reason the top could not be read, or null when it was. */
export function topFailure(root: ChainNode): string | null {
  const p = root.problems.find((x) => FATAL_ON_TOP.has(x.code));
  return p ? p.message : null;
}

/** One node's lines, escaped (the name from its raw header bytes, so invalid UTF-8 shows). */
function describeNode(n: ChainNode): string[] {
  const lines: string[] = [];
  const size = n.header ? `${humanSize(n.header.virtualSize)} virtual` : null;
  const alloc = n.stat ? `${humanSize(n.stat.allocated)} allocated` : null;
  const fmt = n.format
    ? `${n.format}${n.formatSource === 'probed' || n.formatSource === 'assumed-raw' ? ` (${n.formatSource})` : ''}`
    : 'unread';
  const named = n.role !== 'image' && n.name !== n.path ? `  named '${escapeName(n.name, n.nameInfo?.rawHex)}'` : '';
  const head = `${n.role.padEnd(9)} ${escapeText(n.path)}${named}`;
  lines.push(`          ${[fmt, size, alloc].filter(Boolean).join(', ')}`);
  if (n.owner) {
    lines.push(`          owner ${ownerString(n.owner)} ${modeString(n.owner.mode)}  selinux ${n.selinux ?? 'none'}`);
  }
  for (const driver of ['dac', 'selinux'] as const) {
    const r = n.remembered[driver];
    if (r) {
      lines.push(
        `          libvirt remembered ${driver}: ${r.label ?? '?'} (refcount ${r.refcount ?? '?'}, ${r.current ? 'this boot' : 'stale: from another boot'})`,
      );
    }
  }
  for (const p of n.problems) lines.push(`          ! ${p.code}: ${p.message}`);
  return [head, ...lines.map(escapeText)];
}

/** The chain as text: one block per image, top first, each data file under its image. */
export function renderTree(root: ChainNode): string {
  const out: string[] = [];
  for (let n: ChainNode | null = root; n; n = n.backing) {
    out.push(...describeNode(n));
    if (n.dataFile) out.push(...describeNode(n.dataFile).map((l) => `    ${l}`));
  }
  return out.join('\n') + '\n';
}

export function registerInspect(program: Command): void {
  program
    .command('inspect')
    .description('show the chain of one disk: image, backing images, data files, owners and labels')
    .argument('<path>', 'the top image')
    .option('--json', 'print {"root": Node} (see shared/model.ts)')
    .option('--qemu-json', 'print what `qemu-img info --backing-chain --output=json` prints')
    .option(
      '--qemu-version <X.Y>',
      'with --qemu-json: print as this qemu-img version does (default: $DISKCHAIN_QEMU_IMG, else qemu-img on PATH)',
    )
    .addOption(new Option('-f, --format <format>', "the top image's format (default: probed)").choices(FORMATS.map((f) => f.name)))
    .action(async (path: string, opts: { json?: boolean; qemuJson?: boolean; qemuVersion?: string; format?: FormatName }) => {
      if (opts.qemuJson) {
        let qemuVersion;
        try {
          qemuVersion = selectQemuVersion(opts.qemuVersion);
        } catch (e) {
          warn(`diskchain: ${(e as Error).message}`);
          process.exitCode = 2;
          return;
        }
        const r = qemuInfoChain(path, { format: opts.format, qemuVersion, exactIntegers: true });
        if (r.error) {
          warn(`diskchain: ${r.error}`);
          process.exitCode = 1;
          return;
        }
        await writeOut(exactJson(r.entries, 4) + '\n');
        return;
      }
      const root = inspect(path, { format: opts.format });
      const failure = topFailure(root);
      if (failure) {
        warn(`diskchain: ${failure}`);
        process.exitCode = 1;
        return;
      }
      // Compact: indenting a chain 1,000 deep would print megabytes of spaces.
      await writeOut(opts.json ? JSON.stringify({ root }) + '\n' : renderTree(root));
    });
}
