// `diskchain install-helper` and `diskchain uninstall-helper`, as root: put the privileged helper
// where pkexec runs it (/usr/libexec/diskchain) and its action where polkitd reads actions
// (/usr/share/polkit-1/actions, the only place it looks), and take away exactly what was put.
// The helper runs as root, so it, the node binary and every folder above them must be changeable
// by root only: anything else is refused. With --sudoers USER it also writes the sudoers rule
// that lets USER start the helper over ssh, where no polkit agent can answer (sudoers-rule.ts).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { z } from 'zod';
import { INSTALLED_LAUNCHER } from '../change/helper-client.js';
import { makeRootDir, requireRootOnly, writeRootFile } from './root-only.js';
import { SUDOERS_FILE, sudoersPath, sudoersText, writeSudoersRule } from './sudoers-rule.js';

export const LIBEXEC_DIR = path.dirname(INSTALLED_LAUNCHER);
export const POLICY_PATH = '/usr/share/polkit-1/actions/org.diskchain.helper.policy';
/** What install-helper wrote and the folders it made, so uninstall-helper removes exactly those. */
export const MANIFEST = path.join(LIBEXEC_DIR, 'installed.json');
const LIB_DIR = path.join(LIBEXEC_DIR, 'lib');
const HELPER_ENTRY = 'helper.mjs';
const MAX_ENTRIES = 64;
const MAX_DEPTH = 4;
const MAX_MANIFEST_BYTES = 64 * 1024;
/** The launcher holds paths between single quotes: only these characters may be in them. */
const PLAIN_PATH = /^\/[A-Za-z0-9._+/-]+$/;

const here = fileURLToPath(import.meta.url);

/** dist/helper, which scripts/build.mjs makes: lib/ (what runs) and the two templates. */
export function helperBundleDir(): string {
  return path.resolve(path.dirname(here), here.endsWith('.ts') ? '../../../dist/helper' : '../helper');
}

const Installed = z.string().refine((p) => path.isAbsolute(p) && path.normalize(p) === p, 'not a plain absolute path');
const ManifestSchema = z.object({
  v: z.literal(1),
  files: z
    .array(Installed.refine((p) => p === POLICY_PATH || p.startsWith(LIBEXEC_DIR + '/'), 'outside what install-helper writes'))
    .max(MAX_ENTRIES),
  dirs: z
    .array(Installed.refine((p) => p === LIBEXEC_DIR || p.startsWith(LIBEXEC_DIR + '/'), 'outside what install-helper makes'))
    .max(MAX_ENTRIES),
  /** Sudoers rules written by --sudoers (absent in manifests written before it existed). */
  sudoers: z
    .array(Installed.refine((p) => SUDOERS_FILE.test(p), 'not a sudoers rule install-helper writes'))
    .max(MAX_ENTRIES)
    .optional(),
});
type Manifest = z.infer<typeof ManifestSchema>;

function requireRoot(command: string): void {
  if (process.getuid?.() !== 0) {
    throw new Error(
      `${command} must run as root: it changes ${LIBEXEC_DIR}, ${POLICY_PATH} and diskchain's rules in /etc/sudoers.d (try: sudo diskchain ${command})`,
    );
  }
}

function exists(p: string): boolean {
  try {
    fs.lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

function readManifest(): Manifest | null {
  let fd: number;
  try {
    fd = fs.openSync(MANIFEST, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile() || st.size > MAX_MANIFEST_BYTES) throw new Error(`${MANIFEST} is not what install-helper writes`);
    const parsed = ManifestSchema.safeParse(JSON.parse(fs.readFileSync(fd, 'utf8')));
    if (!parsed.success) throw new Error(`${MANIFEST} is not what install-helper writes: ${parsed.error.issues[0]?.message}`);
    return parsed.data;
  } finally {
    fs.closeSync(fd);
  }
}

/** The folders and files under `lib` (relative, parents first), bounded in depth and count. */
function bundleEntries(lib: string): { dirs: string[]; files: string[] } {
  const dirs: string[] = [];
  const files: string[] = [];
  const walk = (rel: string, depth: number): void => {
    for (const d of fs.readdirSync(path.join(lib, rel), { withFileTypes: true })) {
      const r = path.join(rel, d.name);
      if (dirs.length + files.length >= MAX_ENTRIES) throw new Error(`${lib} holds more than ${MAX_ENTRIES} entries: not a helper bundle`);
      if (d.isFile()) files.push(r);
      else if (d.isDirectory() && depth < MAX_DEPTH) {
        dirs.push(r);
        walk(r, depth + 1);
      } else throw new Error(`${path.join(lib, r)} is not a file, or is a folder nested too deep: not a helper bundle`);
    }
  };
  walk('', 0);
  return { dirs, files };
}

/** The launcher from its template, with `node` and `helperJs` put in. */
export function launcherText(template: string, node: string, helperJs: string): string {
  for (const p of [node, helperJs]) {
    if (!PLAIN_PATH.test(p))
      throw new Error(`${JSON.stringify(p)} has characters the launcher does not take (only letters, digits and . _ + - /)`);
  }
  const text = template.replaceAll('@NODE@', node).replaceAll('@HELPER_JS@', helperJs);
  if (!template.includes('@NODE@') || !template.includes('@HELPER_JS@') || /@[A-Z_]+@/.test(text)) {
    throw new Error('the launcher template is not diskchain-helper.in');
  }
  return text;
}

/** Start the installed launcher as pkexec would (clean environment) and ask it to probe. */
function probeInstalled(): string | null {
  const r = spawnSync(INSTALLED_LAUNCHER, [], {
    input: '{"id":1,"verb":"probe"}\n',
    encoding: 'utf8',
    timeout: 30_000,
    env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
  });
  try {
    const answer = JSON.parse(String(r.stdout).split('\n')[0] ?? '');
    if (answer.ok === true && answer.result?.uid === 0) return null;
  } catch {
    // Said below, with what the launcher printed.
  }
  return `exit ${r.status ?? r.signal}${r.error ? `, ${r.error.message}` : ''}: ${String(r.stderr).trim().split('\n').slice(-3).join(' ') || 'no answer to a probe'}`;
}

/** Install the helper, its launcher and its polkit action, and the sudoers rule for `opts.sudoers`; the lines to print. */
export function installHelper(opts: { sudoers?: string } = {}): string[] {
  requireRoot('install-helper');
  // A name the rule cannot take is refused before anything is written.
  if (opts.sudoers !== undefined) sudoersText(opts.sudoers);
  const bundle = helperBundleDir();
  const lib = path.join(bundle, 'lib');
  if (!fs.existsSync(path.join(lib, HELPER_ENTRY))) {
    throw new Error(`the helper bundle is missing (${path.join(lib, HELPER_ENTRY)}): build it first (npm run build)`);
  }
  const { dirs, files } = bundleEntries(lib);
  const node = fs.realpathSync(process.execPath);
  const helperJs = path.join(LIB_DIR, HELPER_ENTRY);
  const launcher = launcherText(fs.readFileSync(path.join(bundle, 'diskchain-helper.in'), 'utf8'), node, helperJs);
  const policy = fs.readFileSync(path.join(bundle, 'org.diskchain.helper.policy'));
  requireRootOnly(node, `the binary the helper runs with (${node})`);
  if (!fs.existsSync(path.dirname(POLICY_PATH))) {
    throw new Error(`polkit is not installed (no ${path.dirname(POLICY_PATH)}): install the polkitd and pkexec packages first`);
  }
  requireRootOnly(path.dirname(POLICY_PATH), "polkit's actions folder");
  requireRootOnly(path.dirname(LIBEXEC_DIR), `the folder ${LIBEXEC_DIR} goes in`);

  const previous = readManifest();
  if (!previous) {
    for (const p of [INSTALLED_LAUNCHER, POLICY_PATH, LIB_DIR, MANIFEST]) {
      if (exists(p))
        throw new Error(`${p} is there but diskchain install-helper did not write it: remove it with whatever installed it first`);
    }
  }
  const rule = opts.sudoers === undefined ? null : sudoersPath(opts.sudoers);
  const rules = new Set(previous?.sudoers ?? []);
  const made = new Set(previous?.dirs ?? []);
  if (makeRootDir(LIBEXEC_DIR)) made.add(LIBEXEC_DIR);
  requireRootOnly(LIBEXEC_DIR, `the helper's folder ${LIBEXEC_DIR}`);
  const libDirs = [LIB_DIR, ...dirs.map((d) => path.join(LIB_DIR, d))];
  for (const d of libDirs) if (!exists(d)) made.add(d);
  const copies = files.map((f) => [path.join(lib, f), path.join(LIB_DIR, f)] as const);
  const written = [...copies.map(([, to]) => to), INSTALLED_LAUNCHER, POLICY_PATH];
  // The manifest first, naming everything about to be written, so that uninstall-helper can take
  // away an install that stopped half-way; then again with exactly what this install wrote.
  const manifest = (list: string[]) =>
    writeRootFile(
      MANIFEST,
      JSON.stringify({ v: 1, files: list, dirs: [...made], sudoers: [...rules] } satisfies Manifest, null, 2) + '\n',
      0o644,
    );
  manifest([...new Set([...(previous?.files ?? []), ...written])]);
  for (const d of libDirs) {
    makeRootDir(d);
    requireRootOnly(d, `the helper's folder ${d}`);
  }
  for (const [from, to] of copies) writeRootFile(to, fs.readFileSync(from), 0o644);
  writeRootFile(INSTALLED_LAUNCHER, launcher, 0o755);
  writeRootFile(POLICY_PATH, policy, 0o644);
  for (const old of previous?.files ?? []) if (!written.includes(old)) fs.rmSync(old, { force: true });
  manifest(written);
  for (const f of [...written, MANIFEST]) requireRootOnly(f, `the installed ${f}`);

  const failed = probeInstalled();
  if (failed) {
    uninstallHelper();
    throw new Error(`the installed helper does not start (${failed}); removed it again`);
  }
  const ruleLines: string[] = [];
  if (rule !== null) {
    const ours = rules.has(rule);
    // Named in the manifest before it is written, so uninstall-helper finds a rule whose install stopped half-way.
    rules.add(rule);
    manifest(written);
    writeSudoersRule(opts.sudoers!, ours);
    ruleLines.push(`installed ${rule} (${opts.sudoers} may run ${INSTALLED_LAUNCHER} through sudo without a password, and nothing else)`);
  }
  return [
    `installed ${INSTALLED_LAUNCHER} (runs ${node} ${helperJs})`,
    `installed ${POLICY_PATH} (polkit action org.diskchain.helper.run: an administrator's password on every start)`,
    `installed ${files.length} helper file${files.length === 1 ? '' : 's'} in ${LIB_DIR}`,
    'the installed helper starts as root and answers',
    ...ruleLines,
  ];
}

/** Remove what install-helper wrote, and the folders it made when they are empty; the lines to print. */
export function uninstallHelper(): string[] {
  requireRoot('uninstall-helper');
  const m = readManifest();
  if (!m) {
    const there = [INSTALLED_LAUNCHER, POLICY_PATH].filter(exists);
    if (there.length)
      throw new Error(
        `${there.join(' and ')} ${there.length === 1 ? 'is' : 'are'} not from diskchain install-helper (no ${MANIFEST}): left as ${there.length === 1 ? 'it is' : 'they are'}`,
      );
    return ['nothing to uninstall: diskchain install-helper has not installed the helper here'];
  }
  const lines: string[] = [];
  // The rules first: a rule left behind names a launcher that may be gone, or a later one.
  for (const f of [...(m.sudoers ?? []), ...m.files, MANIFEST]) {
    try {
      fs.unlinkSync(f);
      lines.push(`removed ${f}`);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }
  for (const d of [...m.dirs].sort((a, b) => b.length - a.length)) {
    try {
      fs.rmdirSync(d);
      lines.push(`removed ${d}/`);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOTEMPTY' || code === 'EEXIST') lines.push(`left ${d}/: it holds files install-helper did not write`);
      else if (code !== 'ENOENT') throw e;
    }
  }
  return lines;
}

function print(lines: string[]): void {
  process.stdout.write(lines.join('\n') + '\n');
}

export function registerInstallHelper(program: Command): void {
  program
    .command('install-helper')
    .description(
      `as root: install the privileged helper in ${LIBEXEC_DIR} and its polkit action, so the app and the CLI can start it with pkexec`,
    )
    .option('--sudoers <user>', 'also let USER start the helper through sudo without a password (for diskchain -H ssh://USER@this-host)')
    .action((o: { sudoers?: string }) => print(installHelper(o.sudoers === undefined ? {} : { sudoers: o.sudoers })));
  program
    .command('uninstall-helper')
    .description('as root: remove exactly what install-helper installed')
    .action(() => print(uninstallHelper()));
}
