// `diskchain check-access PATH --user U --group G [--json] [--readonly] [--fix] [--dry-run]`:
// what stops the VM's process from opening each file of the chain, and the fix. Exit 0 when the
// VM can open everything, 1 when something blocks, 2 when the fix was refused.
import { Command, Option } from 'commander';
import { permText, type AccessProfile, type AccessReport } from '../../../shared/access.js';
import type { Plan } from '../../../shared/plan.js';
import { checkAccess, subjectText } from '../access/index.js';
import { applyPlan, closeHelper, previewAccessFix } from '../helper/api.js';
import { planLines, printRefusals } from './relabel.js';
import { collect } from './options.js';
import { textLines } from './output.js';

interface Opts {
  user: string;
  group: string;
  groups?: string;
  readonly?: boolean;
  shareable?: boolean;
  allowRoot: string[];
  json?: boolean;
  fix?: boolean;
  dryRun?: boolean;
  helper: boolean;
}

const EXIT_BLOCKED = 1;
const EXIT_REFUSED = 2;

function out(s: string): void {
  process.stdout.write(s.endsWith('\n') ? s : s + '\n');
}

function parseGroups(v: string | undefined): number[] | undefined {
  if (v === undefined) return undefined;
  if (v.trim() === '') return [];
  return v.split(',').map((g) => {
    if (!/^\d{1,10}$/.test(g.trim()) || Number(g) > 0xfffffffe) throw new Error(`--groups: '${g}' is not a group number`);
    return Number(g);
  });
}

/** The report as lines: each file with its verdict, then every blocker, then the host's MAC state. */
export function formatReport(r: AccessReport): string {
  const lines: string[] = [];
  lines.push(`check-access ${r.path} as ${subjectText(r.subject)}${r.readonly ? ', readonly' : ''}`);
  for (const f of r.files) {
    const need = permText(f.needed);
    lines.push(`  ${f.ok ? 'ok     ' : 'BLOCKED'} ${f.role.padEnd(9)} ${f.path} (needs ${need})`);
    for (const l of f.symlinks) lines.push(`            link ${l.path} → ${l.target}`);
  }
  const blocking = r.blockers.filter((b) => b.blocking);
  const info = r.blockers.filter((b) => !b.blocking);
  if (blocking.length) {
    lines.push('what blocks:');
    for (const b of blocking) lines.push(`  ${b.kind.padEnd(8)} ${b.message}`);
  }
  if (info.length) {
    lines.push('worth knowing (blocks nothing here):');
    for (const b of info) lines.push(`  ${b.kind.padEnd(8)} ${b.message}`);
  }
  lines.push(`  ${r.selinux.message}`);
  lines.push(`  ${r.apparmor.message}`);
  for (const n of r.notes) lines.push(`  note: ${n}`);
  lines.push(r.ok ? 'the VM can open every file' : `the VM cannot open ${r.files.filter((f) => !f.ok).length} of ${r.files.length} files`);
  return textLines(lines);
}

/** The fix as the preview shows it: folders (ACL before → after), then the relabel entries. */
export function formatFix(plan: Plan): string {
  const lines: string[] = [];
  const folders = plan.access?.folders ?? [];
  lines.push(`fix for ${plan.access?.path ?? plan.top}`);
  for (const f of folders) {
    lines.push(`  folder    ${f.path}`);
    lines.push(`            ACL ${f.before.acl ?? '(none)'} → ${f.after.acl ?? '(none)'}`);
    for (const c of f.changes) lines.push(`            · ${c}`);
  }
  if (plan.entries.length) lines.push(...planLines(plan).slice(1, -1));
  else for (const n of plan.notes ?? []) lines.push(`  note: ${n}`);
  const n = folders.length + plan.entries.filter((e) => e.changes.length).length;
  lines.push(`  ${n} change${n === 1 ? '' : 's'}${n === 0 ? ' (nothing this fix can change)' : ''}`);
  return textLines(lines);
}

async function run(p: string, o: Opts): Promise<void> {
  const groups = parseGroups(o.groups);
  const profile: AccessProfile = {
    user: o.user,
    group: o.group,
    readonly: !!o.readonly,
    shareable: !!o.shareable,
    allowRoots: o.allowRoot,
    ...(groups ? { groups } : {}),
  };
  const report = checkAccess(p, profile);
  if (!o.fix) {
    out(o.json ? JSON.stringify(report, null, 2) : formatReport(report));
    if (!report.ok) process.exitCode = EXIT_BLOCKED;
    return;
  }
  const plan = await previewAccessFix(p, profile, { inProcess: !o.helper || !!o.dryRun });
  if (plan.refusals.length) {
    out(o.json ? JSON.stringify({ report, plan, result: null }, null, 2) : `${formatReport(report)}\n${formatFix(plan)}`);
    printRefusals(plan.refusals);
    process.exitCode = EXIT_REFUSED;
    return;
  }
  if (o.dryRun) {
    out(o.json ? JSON.stringify({ report, plan }, null, 2) : `${formatReport(report)}\n${formatFix(plan)}`);
    if (!report.ok) process.exitCode = EXIT_BLOCKED;
    return;
  }
  if (!o.json) out(`${formatReport(report)}\n${formatFix(plan)}`);
  const nothing = (plan.access?.folders.length ?? 0) + plan.entries.filter((e) => e.changes.length).length === 0;
  const result = nothing ? { ok: true, journalId: '', changed: 0, refusals: [] } : await applyPlan(plan, { inProcess: !o.helper });
  const after = result.ok !== false ? checkAccess(p, profile) : report;
  if (o.json) out(JSON.stringify({ report, plan, result, after }, null, 2));
  if (result.ok === false) {
    printRefusals(result.refusals ?? [{ path: '', message: result.message ?? 'failed' }]);
    process.exitCode = EXIT_REFUSED;
    return;
  }
  if (!o.json) {
    out(
      textLines([
        result.changed
          ? `changed ${result.changed} (journal ${result.journalId}; undo with: diskchain undo ${result.journalId})`
          : 'nothing to change',
      ]),
    );
    out(
      textLines(
        after.ok
          ? ['after the fix: the VM can open every file']
          : ['after the fix, still blocked:', ...after.blockers.filter((b) => b.blocking).map((b) => `  ${b.kind.padEnd(8)} ${b.message}`)],
      ),
    );
  }
  if (!after.ok) process.exitCode = EXIT_BLOCKED;
}

export function registerCheckAccess(program: Command): void {
  program
    .command('check-access <path>')
    .description(
      "say what stops the VM's user from opening each file of the chain (folders, ACLs, owner and mode, SELinux, AppArmor), and fix it",
    )
    .requiredOption('--user <user>', "the VM's user, a name or +N")
    .requiredOption('--group <group>', "the VM's group, a name or +N")
    .option('--groups <gids>', "supplementary groups, comma-separated numbers (default: the user's, from NSS)")
    .option('--readonly', 'the disk is readonly (no write needed on the top)')
    .option('--shareable', 'the disk is shareable')
    .option('--allow-root <dir>', 'also allow the fix inside this folder (repeatable)', collect, [])
    .option('--fix', 'fix what blocks (through the privileged helper, journalled; diskchain undo reverts it)')
    .option('--dry-run', 'with --fix: print the fix, change nothing')
    .option('--json', 'print JSON')
    .addOption(new Option('--no-helper', 'apply in this process instead of through the privileged helper').hideHelp())
    .action(async (p: string, o: Opts) => {
      try {
        await run(p, o);
      } finally {
        closeHelper();
      }
    });
}
