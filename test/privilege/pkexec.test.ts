// The privilege path for real: `diskchain install-helper` as root, a system bus and polkitd, a
// polkit rule for one unprivileged user, and that user's `diskchain relabel` and `restore` going
// through pkexec to the installed helper; then a rule saying no, and nothing may change.
import { execFileSync, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostBootTime } from '../../electron/node/core/boottime.js';
import { SYSTEM_JOURNAL_DIR } from '../../electron/node/change/journal.js';
import { libvirtAttrs, makeChain, owner, snapshot, type Chain } from '../support/chain.js';
import { CLI, runCli } from '../support/cli.js';
import {
  pkaction,
  pkcheck,
  removeRules,
  startPolkit,
  stopPolkit,
  waitFor,
  whyNoPkexec,
  writeRules,
  type PolkitServices,
} from './polkit.js';
import { cliAs, createUser, idleAs, letUserReach, removeUser, userFolder, type TestUser } from './test-user.js';
import { lockSystemInstall } from '../support/system-lock.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const LIBEXEC = '/usr/libexec/diskchain';
const LAUNCHER = `${LIBEXEC}/diskchain-helper`;
const POLICY = '/usr/share/polkit-1/actions/org.diskchain.helper.policy';
const skip = whyNoPkexec();
// CI installs everything this needs (.ci/run): there a skip would hide a broken privilege path.
if (skip && process.env.CI) throw new Error(`the pkexec tests must run in CI, but ${skip}`);
if (skip) console.log(`skipping the pkexec tests: ${skip}`);

let user: TestUser | undefined;
let services: PolkitServices | undefined;
let subject: ChildProcess | undefined;
let installed = false;
let unreach: (() => void) | undefined;
const journalIds: string[] = [];
const hadSystemState = fs.existsSync(path.dirname(SYSTEM_JOURNAL_DIR));

/**
 * Write the rule (or, for null, remove it: the policy's auth_admin then) and wait until polkitd
 * answers with it: it re-reads rules when they change, but not at once.
 */
async function rule(result: 'YES' | 'NO' | null): Promise<void> {
  if (result) writeRules(user!.name, result);
  else removeRules();
  const want = result === 'YES' ? 0 : result === 'NO' ? 1 : 2;
  try {
    await waitFor(`polkitd to apply the ${result ?? 'removed'} rule`, () => pkcheck(subject!.pid!) === want);
  } catch (e) {
    throw new Error(`${(e as Error).message}; polkitd said: ${services?.polkitdLog() || '(nothing)'}`);
  }
}

/** Note the journal a run made, to remove it afterwards. */
function keepJournal(stdout: string): void {
  const m = /\(journal (\S+);/.exec(stdout);
  if (m) journalIds.push(m[1]!);
}

describe.skipIf(skip !== null)('pkexec and polkit, for real', () => {
  let releaseInstall: (() => void) | undefined;

  beforeAll(async () => {
    releaseInstall = await lockSystemInstall();
    // install-helper copies dist/helper, which builds made before it existed do not have.
    if (!fs.existsSync(path.join(ROOT, 'dist/helper/lib/helper.mjs')) || !fs.existsSync(CLI)) {
      execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: ROOT, stdio: 'inherit' });
    }
    user = createUser();
    unreach = letUserReach(user, ROOT);
    const r = runCli(['install-helper']);
    installed = true;
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    services = await startPolkit();
    const s = (subject = idleAs(user));
    await waitFor('the idle process to run as the user', () => fs.statSync(`/proc/${s.pid}`).uid === user!.uid);
    await waitFor('polkitd to load the installed action', () => pkaction() !== null);
  }, 20 * 60_000); // the other suite that installs the helper may hold the lock for minutes

  afterAll(async () => {
    removeRules();
    subject?.kill('SIGKILL');
    if (installed) {
      const r = runCli(['uninstall-helper']);
      if (r.status !== 0) console.error(`uninstall-helper: ${r.stderr}`);
    }
    await stopPolkit(services);
    unreach?.();
    removeUser(user);
    // The helper came through pkexec with a clean environment, so it journalled in the system's folder.
    for (const id of journalIds) fs.rmSync(path.join(SYSTEM_JOURNAL_DIR, `${id}.jsonl`), { force: true });
    if (!hadSystemState) {
      for (const d of [SYSTEM_JOURNAL_DIR, path.dirname(SYSTEM_JOURNAL_DIR)]) {
        try {
          fs.rmdirSync(d);
        } catch {
          /* not empty: someone else's journal is there too */
        }
      }
    }
    releaseInstall?.();
  });

  it('install-helper writes root-only files, and polkitd asks an administrator on every start', () => {
    for (const f of [LAUNCHER, POLICY]) {
      const st = fs.statSync(f);
      expect([st.uid, st.gid, st.mode & 0o022]).toEqual([0, 0, 0]);
    }
    expect(fs.statSync(LAUNCHER).mode & 0o777).toBe(0o755);
    const launcher = fs.readFileSync(LAUNCHER, 'utf8');
    expect(launcher).toContain(`exec '${fs.realpathSync(process.execPath)}' '/usr/libexec/diskchain/lib/helper.mjs'`);
    const a = pkaction()!;
    expect([a['implicit any'], a['implicit inactive'], a['implicit active']]).toEqual([['auth_admin'], ['auth_admin'], ['auth_admin']]);
    expect(a.annotation).toContain(`org.freedesktop.policykit.exec.path -> ${LAUNCHER}`);
    expect(a.message?.[0]).toMatch(/owner.*SELinux labels.*remembered-label records.*folders you own.*re-checks every file/);
    // Without a rule the user is not let through (auth_admin, and no agent here).
    expect(pkcheck(subject!.pid!)).toBe(2);
  });

  it('uninstall-helper and install-helper refuse to run without root', () => {
    for (const cmd of ['install-helper', 'uninstall-helper']) {
      const r = cliAs(user!, [cmd]);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`^diskchain: ${cmd} must run as root`));
    }
    expect(fs.existsSync(LAUNCHER)).toBe(true);
  });

  it('install-helper refuses a node binary anyone but root could change, and changes nothing', () => {
    const before = [LAUNCHER, POLICY].map((f) => [fs.readFileSync(f, 'utf8'), fs.statSync(f).ino]);
    // The user's own folder, then a root-owned one its group may write to.
    const groupWritable = fs.mkdtempSync('/var/tmp/diskchain-node-');
    try {
      fs.chmodSync(groupWritable, 0o775);
      for (const [dir, why] of [
        [user!.home, `${user!.home} is owned by uid ${user!.uid}, not root`],
        [groupWritable, `${groupWritable} is writable by its group`],
      ] as const) {
        const node = path.join(dir, 'node');
        fs.copyFileSync(process.execPath, node);
        fs.chmodSync(node, 0o755);
        const r = spawnSync(node, [CLI, 'install-helper'], { encoding: 'utf8', timeout: 60_000 });
        fs.rmSync(node);
        expect(r.status).toBe(1);
        expect(r.stderr).toContain(`the binary the helper runs with (${node}) must be changeable by root only, but ${why}`);
      }
    } finally {
      fs.rmSync(groupWritable, { recursive: true, force: true });
    }
    expect([LAUNCHER, POLICY].map((f) => [fs.readFileSync(f, 'utf8'), fs.statSync(f).ino])).toEqual(before);
  });

  describe('a chain in a folder the user owns', () => {
    let chain: Chain;
    let dirIndex = 0;
    const boot = hostBootTime();

    function userChain(): Chain {
      const c = makeChain(userFolder(user!, `images-${++dirIndex}`));
      for (const f of c.all) fs.chownSync(f, user!.uid, user!.gid);
      return c;
    }

    // Through pkexec the helper gives files only to the caller or libvirt's qemu user (none here),
    // with the caller's groups: so the VM here is a session VM, the user with its VM group.
    it('allowed by polkit: relabel and restore run through pkexec and leave what libvirt would', async () => {
      await rule('YES');
      chain = userChain();
      const mine = `${user!.uid}:${user!.gid}`;
      const vm = `${user!.uid}:${user!.vmGid}`;
      const before = snapshot(chain.all);

      const r = cliAs(user!, ['relabel', chain.top, '--user', user!.name, '--group', user!.vmGroup]);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/changed 5 files/);
      keepJournal(r.stdout);
      for (const f of chain.all) expect(owner(f)).toBe(vm);
      for (const f of [chain.top, chain.topData]) {
        expect(libvirtAttrs(f)).toEqual({ dac: `+${user!.uid}:+${user!.gid}`, ref_dac: '1', timestamp_dac: boot });
      }
      for (const f of [chain.mid, chain.base, chain.baseData]) expect(libvirtAttrs(f)).toEqual({});

      const back = cliAs(user!, ['restore', chain.top]);
      expect(back.stderr).toBe('');
      expect(back.status).toBe(0);
      keepJournal(back.stdout);
      const after = snapshot(chain.all);
      expect(after[chain.top]).toEqual(before[chain.top]);
      expect(after[chain.topData]).toEqual(before[chain.topData]);
      expect(owner(chain.top)).toBe(mine);
      for (const f of [chain.mid, chain.base, chain.baseData]) expect(owner(f)).toBe(vm);
      for (const f of chain.all) expect(libvirtAttrs(f)).toEqual({});
    });

    it('refused by polkit: "authentication refused" and not one owner, mode or xattr changes', async () => {
      await rule('NO');
      chain = userChain();
      const files = [chain.dir, ...chain.all];
      const before = snapshot(files);
      for (const args of [
        ['relabel', chain.top, '--user', user!.name, '--group', user!.vmGroup],
        ['restore', chain.top],
      ]) {
        const r = cliAs(user!, args);
        expect(r.status).not.toBe(0);
        expect(r.stderr).toMatch(/^diskchain: authentication refused: polkit does not allow this user to run the privileged helper/);
        expect(r.stderr).toContain('Not authorized');
        expect(snapshot(files)).toEqual(before);
      }
    });

    it('no rule: an administrator must authenticate, nobody can ask here, and that is what it says', async () => {
      await rule(null);
      chain = userChain();
      const files = [chain.dir, ...chain.all];
      const before = snapshot(files);
      const r = cliAs(user!, ['relabel', chain.top, '--user', user!.name, '--group', user!.vmGroup]);
      expect(r.status).not.toBe(0);
      expect(r.stderr).toMatch(/^diskchain: authentication needed, but no polkit authentication agent can ask for it here/);
      expect(snapshot(files)).toEqual(before);
    });
  });

  // Last: it takes the install away.
  it('uninstall-helper removes exactly what install-helper wrote', () => {
    const manifest = JSON.parse(fs.readFileSync(`${LIBEXEC}/installed.json`, 'utf8')) as { files: string[]; dirs: string[] };
    expect(manifest.files).toEqual(expect.arrayContaining([LAUNCHER, POLICY, `${LIBEXEC}/lib/helper.mjs`]));
    const foreign = `${LIBEXEC}/not-from-diskchain`;
    fs.writeFileSync(foreign, '');
    try {
      const r = runCli(['uninstall-helper']);
      expect(r.status).toBe(0);
      for (const f of [...manifest.files, `${LIBEXEC}/installed.json`]) expect(fs.existsSync(f)).toBe(false);
      for (const d of manifest.dirs.filter((d) => d !== LIBEXEC)) expect(fs.existsSync(d)).toBe(false);
      expect(fs.readdirSync(LIBEXEC)).toEqual(['not-from-diskchain']);
      expect(r.stdout).toContain(`left ${LIBEXEC}/: it holds files install-helper did not write`);
    } finally {
      fs.rmSync(foreign, { force: true });
      fs.rmSync(LIBEXEC, { recursive: true, force: true });
    }
    expect(runCli(['uninstall-helper']).stdout).toMatch(/^nothing to uninstall/);
  });
});
