// `diskchain relabel|restore PATH... [options]`, `diskchain undo [ID]`, `diskchain recover`.
// Without --dry-run the plan is printed and applied (no prompt) through the privileged helper;
// the plan printed is the plan applied. A refusal exits 2 with one line per offending file.
import { Command, Option } from 'commander';
import type { Difference, ResolvedProfile } from '../../../shared/domain.js';
import type { Action, ApplyResult, Driver, Plan, PlanEntry, Refusal, VmProfile } from '../../../shared/plan.js';
import { selinuxEnabled } from '../native/libc.js';
import { dataFileSkips, domainText, libvirtVersion, parseDomainXml, plannableDisks, profileFor, qemuConfPath } from '../libvirt/index.js';
import { domainInput, renderProfile } from './domain.js';
import { applyPlan, closeHelper, listJournal, previewChange, recover, undo } from '../helper/api.js';
import { defaultOwner, planChanges, profileProblems } from '../relabel/index.js';
import { LIBVIRT_VERSION_OPTION, collect } from './options.js';
import { textLines, warn } from './output.js';
import { progressLine } from './progress.js';

interface ChangeOpts {
  driver?: 'dac' | 'selinux' | 'all';
  user?: string;
  group?: string;
  label?: string;
  readonly?: boolean;
  shareable?: boolean;
  allowRoot: string[];
  allowHardLinks?: boolean;
  dryRun?: boolean;
  json?: boolean;
  helper: boolean;
  domain?: string;
  virsh?: string;
  qemuConf?: string;
  libvirtVersion?: string;
}

const EXIT_REFUSED = 2;

function drivers(choice: ChangeOpts['driver']): Driver[] {
  if (choice === 'dac') return ['dac'];
  if (choice === 'selinux') return ['selinux'];
  if (choice === 'all') return ['dac', 'selinux'];
  // libvirt labels with SELinux only where SELinux is on.
  return selinuxEnabled() ? ['dac', 'selinux'] : ['dac'];
}

function profileFrom(action: Action, o: ChangeOpts): VmProfile {
  const d = drivers(o.driver);
  let user = o.user;
  let group = o.group;
  if (action === 'relabel' && d.includes('dac') && (!user || !group)) {
    const def = defaultOwner();
    if (!user && !def) throw new Error('no VM user found on this host (qemu.conf, libvirt-qemu, qemu): pass --user and --group');
    user ??= def!.user;
    group ??= def?.group ?? user;
  }
  return {
    drivers: d,
    user: user ?? '',
    group: group ?? '',
    ...(o.label ? { imageLabel: o.label } : {}),
    readonly: !!o.readonly,
    shareable: !!o.shareable,
    allowRoots: o.allowRoot,
    allowHardLinks: !!o.allowHardLinks,
  };
}

interface FromDomain {
  profile: VmProfile;
  tops: string[];
  resolved: ResolvedProfile;
  origin: string;
  /** Where this libvirt would not do what the headers need (relabel still labels it for qemu). */
  libvirtDifferences: Difference[];
}

/**
 * The profile libvirt would use, from qemu.conf and (when given) the domain XML; explicit
 * --user, --group, --label, --driver, --readonly and --shareable still win.
 */
async function profileFromLibvirt(action: Action, paths: string[], o: ChangeOpts): Promise<FromDomain> {
  const confPath = qemuConfPath(o.qemuConf);
  let def = null;
  let origin = confPath;
  let libvirtDifferences: Difference[] = [];
  if (o.domain || o.virsh) {
    const t = await domainText(await domainInput(o.domain, o.virsh));
    def = parseDomainXml(t.text, t.origin);
    origin = `${t.origin} and ${confPath}`;
    libvirtDifferences = dataFileSkips(def, libvirtVersion(o.libvirtVersion));
  }
  const r = profileFor(def, confPath);
  if (!r.profile) throw new Error(r.profileError ?? 'the VM profile cannot be resolved');
  const resolved = r.profile;
  const p: VmProfile = { ...resolved.profile, disks: [...(resolved.profile.disks ?? [])] };
  const cli = (flag: string) => `command line ${flag}`;
  if (o.user) resolved.dac.user = { value: (p.user = o.user), source: cli('--user') };
  if (o.group) resolved.dac.group = { value: (p.group = o.group), source: cli('--group') };
  if (o.label) resolved.selinux.imageLabel = { value: (p.imageLabel = o.label), source: cli('--label') };
  if (o.driver) p.drivers = drivers(o.driver);
  if (o.readonly || o.shareable) {
    p.readonly ||= !!o.readonly;
    p.shareable ||= !!o.shareable;
    p.disks = p.disks!.map((d) => ({ ...d, readonly: d.readonly || !!o.readonly, shareable: d.shareable || !!o.shareable }));
  }
  p.allowRoots = o.allowRoot;
  p.allowHardLinks = !!o.allowHardLinks;
  if (action === 'relabel' && p.drivers.includes('dac') && (!p.user || !p.group)) {
    throw new Error('no VM user found (qemu.conf, the domain, libvirt-qemu, qemu): pass --user and --group');
  }
  const tops = paths.length ? paths : def ? plannableDisks(def.disks).map((i) => def!.disks[i]!.xmlChain[0]!.path!) : [];
  if (!tops.length) throw new Error(def ? 'the domain has no disk that is a local file' : 'no disk image given');
  return { profile: p, tops, resolved, origin, libvirtDifferences };
}

function stateText(s: PlanEntry['before'], withSelinux: boolean): string {
  const owner = `${s.user ?? s.uid}:${s.group ?? s.gid} (${s.uid}:${s.gid})`;
  return withSelinux ? `${owner} ${s.selinux ?? '(no context)'}` : owner;
}

/** The plan as a table of files: role, path, before → after, remembered, then each change (not escaped). */
export function planLines(plan: Plan): string[] {
  const lines: string[] = [];
  const se = plan.profile.drivers.includes('selinux');
  const what = [
    plan.profile.drivers.join('+'),
    plan.action === 'relabel' && plan.profile.drivers.includes('dac') ? `owner ${plan.profile.user}:${plan.profile.group}` : null,
    plan.action === 'relabel' && se ? `label ${plan.profile.imageLabel}` : null,
    plan.profile.readonly ? 'readonly' : null,
    plan.profile.shareable ? 'shareable' : null,
  ]
    .filter(Boolean)
    .join(', ');
  lines.push(`${plan.action} ${(plan.tops ?? [plan.top]).join(' ')} (${what})`);
  for (const e of plan.entries) {
    const changing = e.changes.length > 0;
    lines.push(`  ${e.role.padEnd(9)} ${e.path}${e.remembered ? '  [remembered]' : ''}`);
    const before = stateText(e.before, se);
    const after = stateText(e.after, se);
    lines.push(`            ${changing ? `${before} → ${after}` : `${before} (unchanged)`}`);
    for (const c of e.changes) lines.push(`            · ${c}`);
    if (e.note) lines.push(`            note: ${e.note}`);
  }
  for (const n of plan.notes ?? []) lines.push(`  note: ${n}`);
  const n = plan.entries.filter((e) => e.changes.length).length;
  lines.push(`  ${n} file${n === 1 ? '' : 's'} to change`);
  return lines;
}

export function formatPlan(plan: Plan): string {
  return textLines(planLines(plan));
}

export function printRefusals(refusals: Refusal[]): void {
  for (const r of refusals) warn(`refused: ${r.path ? `${r.path}: ` : ''}${r.message}`);
}

function out(s: string): void {
  process.stdout.write(s.endsWith('\n') ? s : s + '\n');
}

async function runChange(action: Action, paths: string[], o: ChangeOpts): Promise<void> {
  try {
    await runChangeInner(action, paths, o);
  } finally {
    closeHelper();
  }
}

async function runChangeInner(action: Action, pathsIn: string[], o: ChangeOpts): Promise<void> {
  let profile: VmProfile;
  let paths = pathsIn;
  let sources: FromDomain | null = null;
  if (o.libvirtVersion && !o.domain && !o.virsh) throw new Error('--libvirt-version needs --domain FILE or --virsh NAME');
  if (o.domain || o.virsh || o.qemuConf) {
    sources = await profileFromLibvirt(action, pathsIn, o);
    profile = sources.profile;
    paths = sources.tops;
    if (!o.json) out(textLines([`profile from ${sources.origin}:`, ...renderProfile(sources.resolved)]));
    if (!o.json) for (const d of sources.libvirtDifferences) warn(`${d.code}: ${d.message}`);
    if (profile.drivers.length === 0) {
      if (o.json) out(JSON.stringify({ plan: null, profileSources: sources.resolved }, null, 2));
      else out('nothing to do: libvirt would leave these files as they are');
      return;
    }
  } else {
    if (!paths.length) throw new Error('no disk image given (or use --domain FILE / --virsh NAME)');
    profile = profileFrom(action, o);
  }
  const withSources = <T extends object>(x: T) =>
    sources ? { ...x, profileSources: sources.resolved, libvirtDifferences: sources.libvirtDifferences } : x;
  // Without privileges the helper makes the plan that is printed and applied (a dry run stays
  // unprivileged and says what it cannot see; bad options are named here, with no prompt).
  const viaHelper = o.helper && !o.dryRun && process.getuid?.() !== 0 && profileProblems(profile, action).length === 0;
  const plan = viaHelper ? await previewChange(action, paths, profile) : planChanges(action, paths, profile);
  if (plan.refusals.length) {
    if (o.json) out(JSON.stringify(withSources({ plan, result: null }), null, 2));
    else out(formatPlan(plan));
    printRefusals(plan.refusals);
    process.exitCode = EXIT_REFUSED;
    return;
  }
  if (o.dryRun) {
    out(o.json ? JSON.stringify(sources ? withSources({ plan }) : plan, null, 2) : formatPlan(plan));
    return;
  }
  if (!o.json) out(formatPlan(plan));
  const result = await applyWithProgress(plan, o);
  if (o.json) out(JSON.stringify(withSources({ plan, result }), null, 2));
  if (result.ok === false) {
    printRefusals(result.refusals ?? [{ path: '', message: result.message ?? 'failed' }]);
    if (result.rolledBack && !o.json) warn(result.message ?? 'rolled back');
    process.exitCode = EXIT_REFUSED;
    return;
  }
  if (!o.json)
    out(
      textLines([
        result.changed
          ? `changed ${result.changed} file${result.changed === 1 ? '' : 's'} (journal ${result.journalId}; undo with: diskchain undo ${result.journalId})`
          : 'nothing to change',
      ]),
    );
}

/** Apply with a progress line on a terminal; Ctrl-C cancels the run (what was done is put back). */
async function applyWithProgress(plan: Plan, o: ChangeOpts): Promise<ApplyResult> {
  const line = o.json ? null : progressLine();
  const abort = new AbortController();
  const onInt = () => {
    line?.done();
    warn('cancelling: putting back what was changed (Ctrl-C again to stop waiting)');
    abort.abort();
  };
  process.once('SIGINT', onInt);
  try {
    return await applyPlan(plan, { inProcess: !o.helper, signal: abort.signal, ...(line ? { onProgress: (p) => line.update(p) } : {}) });
  } finally {
    line?.done();
    process.off('SIGINT', onInt);
  }
}

function changeCommand(program: Command, action: Action): void {
  const cmd = program
    .command(`${action} [paths...]`)
    .description(
      action === 'relabel'
        ? "give every file of each disk's chain the VM's owner and SELinux labels, as libvirt does when the VM starts"
        : 'put back the top image and its data file as libvirt does when the VM stops',
    )
    .addOption(
      new Option('--driver <driver>', 'security drivers (default: dac, plus selinux where SELinux is on)').choices([
        'dac',
        'selinux',
        'all',
      ]),
    );
  if (action === 'relabel') {
    cmd
      .option('--user <user>', "the VM's user, a name or +N (default: qemu.conf's, else libvirt-qemu or qemu)")
      .option('--group <group>', "the VM's group, a name or +N")
      .option('--label <context>', "the VM's image label (default: svirt_image_t:s0 with two random categories)");
  }
  cmd
    .option('--readonly', 'the disk is readonly')
    .option('--shareable', 'the disk is shareable')
    .option('--domain <file>', 'take the profile and the disks from a domain XML (virsh dumpxml output; - for stdin), as libvirt would')
    .option('--virsh <name>', 'the same, from `virsh dumpxml NAME`')
    .option('--qemu-conf <file>', 'qemu.conf for the profile (default: /etc/libvirt/qemu.conf, or $DISKCHAIN_QEMU_CONF)')
    .option(...LIBVIRT_VERSION_OPTION)
    .option('--allow-root <dir>', 'also allow changes inside this folder (repeatable)', collect, [])
    .option('--allow-hard-links', 'change files that have more than one hard link')
    .option('--dry-run', 'print the plan, change nothing')
    .option('--json', 'print JSON')
    .addOption(new Option('--no-helper', 'apply in this process instead of through the privileged helper').hideHelp())
    .action(async (paths: string[], o: ChangeOpts) => runChange(action, paths, o));
}

export function registerRelabel(program: Command): void {
  changeCommand(program, 'relabel');
  changeCommand(program, 'restore');

  program
    .command('undo [id]')
    .description('revert a whole relabel or restore (default: the newest one still in effect)')
    .option('--list', 'list the journal instead')
    .option('--json', 'print JSON')
    .addOption(new Option('--no-helper', 'undo in this process instead of through the privileged helper').hideHelp())
    .action(async (id: string | undefined, o: { list?: boolean; json?: boolean; helper: boolean }) => {
      if (o.list) {
        const list = listJournal();
        if (o.json) out(JSON.stringify(list, null, 2));
        else if (!list.length) out('the journal is empty');
        else
          out(
            textLines(
              list.map(
                (j) => `${j.id}  ${j.kind.padEnd(7)} ${j.status.padEnd(11)} ${String(j.files).padStart(6)} files  ${j.tops.join(' ')}`,
              ),
            ),
          );
        return;
      }
      let result: ApplyResult;
      try {
        result = await undo(id, { inProcess: !o.helper });
      } finally {
        closeHelper();
      }
      if (o.json) out(JSON.stringify(result, null, 2));
      if (result.ok === false) {
        printRefusals(result.refusals ?? [{ path: '', message: result.message ?? 'failed' }]);
        process.exitCode = EXIT_REFUSED;
        return;
      }
      if (!o.json) out(textLines([`put back ${result.changed} file${result.changed === 1 ? '' : 's'} (journal ${result.journalId})`]));
    });

  program
    .command('recover')
    .description('bring back every file of a relabel, restore or undo that was killed half-way')
    .option('--json', 'print JSON')
    .addOption(new Option('--no-helper', 'recover in this process instead of through the privileged helper').hideHelp())
    .action(async (o: { json?: boolean; helper: boolean }) => {
      let r;
      try {
        r = await recover({ inProcess: !o.helper });
      } finally {
        closeHelper();
      }
      if (o.json) out(JSON.stringify(r, null, 2));
      else if (!r.recovered.length) out('nothing to recover');
      else out(textLines([`recovered ${r.recovered.join(', ')}: ${r.files} file${r.files === 1 ? '' : 's'} put back`]));
      if (r.conflicts.length) {
        for (const c of r.conflicts) warn(`left alone: ${c.path}: ${c.message}`);
        process.exitCode = 1;
      }
    });
}
