// check-access and its fix on real chains in real folders, as root: before the fix the VM's
// user (uid/gid 107, started with setpriv) really cannot open the files, the check names what
// blocks, the previewed fix applied through the helper (as the CLI does) lets it open them, and
// `diskchain undo` puts every ACL, owner and mode back exactly.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkAccess } from '../../electron/node/access/index.js';
import { applyInProcess, planAccessFix } from '../../electron/node/helper/api.js';
import { handleLine } from '../../electron/node/helper/server.js';
import type { AccessReport } from '../../shared/access.js';
import type { Plan } from '../../shared/plan.js';
import { openAs, type OpenResult } from '../support/as-user.js';
import { qemuImg, tempDir } from '../support/qemu.js';
import { diskchain } from '../support/bin.js';
import { setContext } from '../support/chain.js';
import { stateDir } from '../support/state.js';

let tmp: { dir: string; cleanup: () => void };
let env: NodeJS.ProcessEnv;
let c: { vms: string; bases: string; top: string; topData: string; base: string; baseData: string; files: string[]; folders: string[] };
const who = ['--user', '+107', '--group', '+107'];
const profile = { user: '+107', group: '+107' };

/**
 * vms/top.qcow2 (data file top.raw) ← bases/base.qcow2 (data file base.raw), every file owned by
 * the VM (107:107, 0600) and every folder 0755: the VM can open everything; each test breaks one thing.
 */
beforeEach(() => {
  tmp = tempDir('diskchain-access-');
  fs.chmodSync(tmp.dir, 0o755);
  env = { DISKCHAIN_STATE_DIR: stateDir() };
  // In-process applies (and the helper's handleLine) journal here too, never in /var/lib.
  process.env.DISKCHAIN_STATE_DIR = env.DISKCHAIN_STATE_DIR;
  const vms = path.join(tmp.dir, 'vms');
  const bases = path.join(tmp.dir, 'bases');
  fs.mkdirSync(vms, { mode: 0o755 });
  fs.mkdirSync(bases, { mode: 0o755 });
  qemuImg(bases, 'create', '-q', '-f', 'qcow2', '-o', 'data_file=base.raw', 'base.qcow2', '1M');
  qemuImg(vms, 'create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', '../bases/base.qcow2', '-o', 'data_file=top.raw', 'top.qcow2');
  const files = [path.join(vms, 'top.qcow2'), path.join(vms, 'top.raw'), path.join(bases, 'base.qcow2'), path.join(bases, 'base.raw')];
  for (const f of files) {
    fs.chownSync(f, 107, 107);
    fs.chmodSync(f, 0o600);
  }
  c = { vms, bases, top: files[0]!, topData: files[1]!, base: files[2]!, baseData: files[3]!, files, folders: [tmp.dir, vms, bases] };
});
afterEach(() => {
  delete process.env.DISKCHAIN_STATE_DIR;
  tmp.cleanup();
});

/** Open each file as the VM would (O_RDWR for the top and its data file, else O_RDONLY), as uid 107. */
const openAsVm = openAs;

function chainOpens(top = c.top, readonly = false): OpenResult[] {
  return openAsVm([
    { path: top, write: !readonly },
    { path: c.topData, write: !readonly },
    { path: c.base, write: false },
    { path: c.baseData, write: false },
  ]);
}

const allOk = (r: OpenResult[]) => r.every((x) => x.ok);

/** getfacl and stat of every folder and file: what undo must bring back exactly. */
function snapshotAll(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of [...c.folders, ...c.files]) {
    const st = fs.lstatSync(p);
    out[p] =
      `${st.dev}:${st.ino} ${st.uid}:${st.gid} ${st.mode.toString(8)}\n${execFileSync('getfacl', ['-n', '-p', p], { encoding: 'utf8' })}\n${execFileSync('getfattr', ['--absolute-names', '-d', '-m', '-', '-e', 'hex', '-h', p], { encoding: 'utf8' })}`;
  }
  return out;
}

function check(args: string[] = []): { status: number | null; report: AccessReport } {
  const r = diskchain(['check-access', c.top, ...who, '--json', ...args], { env });
  expect(r.stderr).toBe('');
  return { status: r.status, report: JSON.parse(r.stdout) };
}

/** Preview with --fix --dry-run, apply with --fix (through the helper), check, undo, compare. */
function fixAndUndo(expectChanges: RegExp[]): Plan {
  const before = snapshotAll();
  // bases/ is not the top's folder: the backing files may be changed only when it is allowed.
  const fix = ['--fix', '--allow-root', c.bases];
  const dry = diskchain(['check-access', c.top, ...who, ...fix, '--dry-run'], { env });
  expect(dry.status).toBe(1);
  for (const re of expectChanges) expect(dry.stdout).toMatch(re);
  expect(snapshotAll()).toEqual(before);
  const json = diskchain(['check-access', c.top, ...who, ...fix, '--dry-run', '--json'], { env });
  const preview: Plan = JSON.parse(json.stdout).plan;

  const run = diskchain(['check-access', c.top, ...who, ...fix], { env });
  expect(run.stderr).toBe('');
  expect(run.stdout).toMatch(/changed \d+ \(journal (\S+); undo with: diskchain undo \S+\)/);
  expect(run.stdout).toMatch(/after the fix: the VM can open every file/);
  expect(run.status).toBe(0);
  expect(allOk(chainOpens())).toBe(true);
  expect(check().status).toBe(0);

  const list = diskchain(['undo', '--list'], { env });
  expect(list.stdout).toMatch(/access-fix +committed/);
  const undo = diskchain(['undo'], { env });
  expect(undo.status).toBe(0);
  expect(snapshotAll()).toEqual(before);
  expect(allOk(chainOpens())).toBe(false);
  return preview;
}

describe('check-access: the three usual blockers, fixed and undone', () => {
  it('starts from a chain the VM can open (the baseline every test breaks)', () => {
    expect(allOk(chainOpens())).toBe(true);
    const { status, report } = check();
    expect(status).toBe(0);
    expect(report.ok).toBe(true);
    expect(report.files.map((f) => [f.role, f.needed])).toEqual([
      ['image', 6],
      ['data-file', 6],
      ['backing', 4],
      ['data-file', 4],
    ]);
    expect(report.folders.map((f) => f.path)).toEqual(['/', path.dirname(tmp.dir), tmp.dir, c.vms, c.bases]);
  });

  it('a folder without search permission: user:107:--x on it', () => {
    fs.chmodSync(c.bases, 0o700);
    const opens = chainOpens();
    expect(opens.map((o) => o.ok)).toEqual([true, true, false, false]);
    expect(opens[2]!.code).toBe('EACCES');
    const { status, report } = check();
    expect(status).toBe(1);
    const group = report.subject.groupName ? `107 ${report.subject.groupName}` : '107';
    expect(report.blockers.filter((b) => b.blocking).map((b) => b.message)).toEqual([
      `${c.bases} is mode 0700 root:root: user 107 (group ${group}) has no search permission (x) as other: mode 0700 (other ---)`,
    ]);
    expect(report.files.map((f) => f.ok)).toEqual([true, true, false, false]);
    const plan = fixAndUndo([
      /folder +.*bases/,
      /ACL \(none\) → user::rwx,user:107:--x,group::---,mask::--x,other::---/,
      /mode 0700 → 0710/,
    ]);
    expect(plan.access?.folders.map((f) => f.path)).toEqual([c.bases]);
    expect(plan.entries).toEqual([]);
  });

  it('an ACL entry that denies the VM user: x added to it', () => {
    execFileSync('setfacl', ['-m', 'u:107:---', c.vms]);
    expect(chainOpens().map((o) => o.ok)).toEqual([false, false, true, true]);
    const { report } = check();
    const b = report.blockers.find((x) => x.kind === 'search')!;
    expect(b.path).toBe(c.vms);
    expect(b.check).toMatchObject({ rule: 'named-user', entry: 'user:107:---', granted: 0 });
    expect(b.message).toMatch(/by ACL entry user:107:---/);
    fixAndUndo([/user:107:--- → user:107:--x/]);
  });

  it('a file with the wrong owner and mode: the relabel libvirt does (chown, remembered)', () => {
    fs.chownSync(c.top, 0, 0);
    fs.chmodSync(c.top, 0o600);
    expect(chainOpens().map((o) => o.ok)).toEqual([false, true, true, true]);
    const { report } = check();
    expect(report.blockers.filter((b) => b.blocking).map((b) => [b.kind, b.path])).toEqual([['access', c.top]]);
    expect(report.files[0]!.check).toMatchObject({ needed: 6, granted: 0, rule: 'other' });
    const plan = fixAndUndo([/image +.*top\.qcow2 +\[remembered\]/, /owner root:root \(0:0\) → 107:\S+ \(107:107\)/]);
    expect(plan.entries.map((e) => e.path)).toEqual([c.top]);
    expect(plan.entries[0]!.after.libvirt).toMatchObject({ dac: '+0:+0', ref_dac: '1' });
  });

  it('an owner without the bits it needs: the mode gains them too', () => {
    fs.chownSync(c.topData, 0, 0);
    fs.chmodSync(c.topData, 0o400);
    const plan = fixAndUndo([/mode 0400 → 0600 \(the owner needs rw\)/]);
    expect(plan.entries[0]!.after.mode & 0o777).toBe(0o600);
  });
});

describe('check-access: the finer points', () => {
  it('a symlinked folder in the path: the link is reported, the real folder fixed, the open through the link works', () => {
    const real = path.join(tmp.dir, 'real');
    fs.mkdirSync(real, { mode: 0o700 });
    fs.renameSync(c.vms, path.join(real, 'vms'));
    fs.symlinkSync(real, path.join(tmp.dir, 'link'));
    const viaLink = path.join(tmp.dir, 'link', 'vms', 'top.qcow2');
    c.top = path.join(real, 'vms', 'top.qcow2');
    c.topData = path.join(real, 'vms', 'top.raw');
    // The backing name ../bases/base.qcow2 now resolves from real/vms: give it what it names.
    fs.mkdirSync(path.join(real, 'bases'), { mode: 0o755 });
    fs.renameSync(c.base, path.join(real, 'bases', 'base.qcow2'));
    fs.renameSync(c.baseData, path.join(real, 'bases', 'base.raw'));
    c.base = path.join(real, 'bases', 'base.qcow2');
    c.baseData = path.join(real, 'bases', 'base.raw');
    expect(allOk(chainOpens(viaLink))).toBe(false);
    const report = checkAccess(viaLink, profile);
    expect(report.files[0]!.symlinks).toEqual([{ path: path.join(tmp.dir, 'link'), target: real, uid: 0 }]);
    expect(report.files[0]!.folders).toContain(real);
    expect(report.blockers.filter((b) => b.blocking).map((b) => b.path)).toEqual([real]);
    const plan = planAccessFix(viaLink, { ...profile, allowRoots: [real] });
    expect(plan.refusals).toEqual([]);
    expect(plan.access?.folders.map((f) => f.path)).toEqual([real]);
    const r = applyInProcess(plan);
    expect(r).toMatchObject({ ok: true, changed: 1 });
    expect(allOk(chainOpens(viaLink))).toBe(true);
  });

  it('an ACL mask that cancels a named entry: the mask gains x', () => {
    execFileSync('setfacl', ['-m', 'u:107:r-x', c.bases]);
    execFileSync('setfacl', ['-n', '-m', 'm::r--', c.bases]);
    fs.chmodSync(c.vms, 0o755);
    expect(chainOpens().map((o) => o.ok)).toEqual([true, true, false, false]);
    const report = checkAccess(c.top, profile);
    const b = report.blockers.find((x) => x.kind === 'search')!;
    expect(b.check).toMatchObject({ rule: 'named-user', granted: 4, entry: 'user:107:r-x masked by mask::r--' });
    fixAndUndo([/mask::r-- → mask::r-x/]);
  });

  it('a supplementary group granting access is counted, and without it the file is blocked', () => {
    fs.chownSync(c.base, 0, 2000);
    fs.chmodSync(c.base, 0o640);
    expect(openAsVm([{ path: c.base, write: false }], [2000])[0]!.ok).toBe(true);
    expect(openAsVm([{ path: c.base, write: false }])[0]!.ok).toBe(false);
    const withGroup = diskchain(['check-access', c.top, ...who, '--groups', '2000', '--json'], { env });
    expect(withGroup.status).toBe(0);
    const report: AccessReport = JSON.parse(withGroup.stdout);
    expect(report.subject).toMatchObject({ groups: [107, 2000], groupsSource: 'given' });
    expect(report.files[2]!.check).toMatchObject({ rule: 'group', ok: true });
    const without = check();
    expect(without.status).toBe(1);
    expect(without.report.blockers.map((b) => b.path)).toEqual([c.base]);
  });

  it('an SELinux type libvirt would not set is reported, and blocks nothing while SELinux is off', () => {
    setContext([c.top, c.topData], 'system_u:object_r:svirt_image_t:s0:c1,c2');
    setContext([c.base], 'system_u:object_r:virt_image_t:s0');
    setContext([c.baseData], 'system_u:object_r:virt_content_t:s0');
    const { status, report } = check();
    expect(status).toBe(0);
    expect(report.selinux.enabled).toBe(false);
    expect(report.selinux.message).toMatch(/SELinux is disabled on this host/);
    expect(report.files.map((f) => f.selinux?.ok)).toEqual([true, true, false, true]);
    const se = report.blockers.filter((b) => b.kind === 'selinux');
    expect(se).toHaveLength(1);
    expect(se[0]).toMatchObject({ path: c.base, blocking: false });
    expect(se[0]!.message).toMatch(/has SELinux type virt_image_t .*libvirt gives backing files and their data files virt_content_t/);
    // With SELinux on, the same label blocks.
    expect(checkAccess(c.top, profile, { selinuxEnabled: true }).ok).toBe(false);
  });

  it('a readonly disk needs no write: the top readable only is fine with --readonly', () => {
    fs.chmodSync(c.top, 0o400);
    fs.chmodSync(c.topData, 0o400);
    expect(allOk(chainOpens(c.top, true))).toBe(true);
    expect(allOk(chainOpens(c.top, false))).toBe(false);
    expect(check(['--readonly']).status).toBe(0);
    const rw = check();
    expect(rw.status).toBe(1);
    expect(rw.report.blockers.map((b) => b.check?.needed)).toEqual([6, 6]);
  });

  it('AppArmor: the per-VM .files rules are read; a file no profile allows is named', () => {
    const aa = path.join(tmp.dir, 'apparmor');
    fs.mkdirSync(aa);
    fs.writeFileSync(
      path.join(aa, 'libvirt-0e5b3e8c-1111-2222-3333-444455556666.files'),
      [
        `  "${c.top}" rwk,`,
        `  "${c.topData}" rwk,`,
        `  "${c.base}" rk,`,
        "  # don't audit writes to readonly files",
        `  deny "${c.base}" w,`,
        '',
      ].join('\n'),
    );
    const r = checkAccess(c.top, profile, { apparmorDir: aa, apparmorSysfs: path.join(tmp.dir, 'no-sysfs') });
    expect(r.apparmor.present).toBe(true);
    expect(r.files.map((f) => f.apparmor?.ok)).toEqual([true, true, true, false]);
    expect(r.blockers.find((b) => b.kind === 'apparmor')).toMatchObject({ path: c.baseData, blocking: false });
    const none = checkAccess(c.top, profile, { apparmorDir: path.join(tmp.dir, 'none'), apparmorSysfs: path.join(tmp.dir, 'no-sysfs') });
    expect(none.apparmor.message).toBe('AppArmor: no libvirt profiles here (no AppArmor in the kernel, no libvirt-*.files)');
  });

  it('the helper refuses a fix whose folder changed since the preview, and changes nothing', () => {
    fs.chmodSync(c.bases, 0o700);
    const plan = planAccessFix(c.top, { ...profile, allowRoots: [c.bases] });
    expect(plan.access?.folders).toHaveLength(1);
    execFileSync('setfacl', ['-m', 'u:4242:r-x', c.bases]);
    const before = snapshotAll();
    const r = applyInProcess(plan);
    expect(r.ok).toBe(false);
    expect(r.refusals?.[0]?.message).toMatch(/changed since the preview/);
    expect(snapshotAll()).toEqual(before);
  });

  it('a folder outside the allowed folders is refused unless --allow-root names it', () => {
    // The backing chain lives in bases/, which is not the top's folder.
    fs.chmodSync(c.bases, 0o700);
    fs.chownSync(c.base, 0, 0);
    const plan = planAccessFix(c.top, profile);
    expect(plan.refusals.map((r) => r.path)).toEqual([c.bases, c.base]);
    expect(plan.refusals[0]!.message).toMatch(/outside the allowed folders/);
    const ok = planAccessFix(c.top, { ...profile, allowRoots: [c.bases] });
    expect(ok.refusals).toEqual([]);
  });

  it('a folder a header name only passes through (by ..) is never opened up, even with every chain file allowed', () => {
    // A hostile backing name walks through someone else's private folder: the check names it,
    // the fix refuses it and changes nothing, though base.qcow2 itself is in an allowed folder.
    const other = path.join(tmp.dir, 'other');
    fs.mkdirSync(other, { mode: 0o700 });
    fs.chownSync(other, 1234, 1234);
    qemuImg(c.vms, 'rebase', '-u', '-F', 'qcow2', '-b', '../other/../bases/base.qcow2', 'top.qcow2');
    const { report } = check(['--allow-root', c.bases]);
    expect(report.blockers.filter((b) => b.kind === 'search').map((b) => b.path)).toEqual([other]);
    const plan = planAccessFix(c.top, { ...profile, allowRoots: [c.bases] });
    expect(plan.refusals.map((r) => r.path)).toEqual([other]);
    expect(plan.refusals[0]!.message).toMatch(/neither inside nor on the way/);
    const before = snapshotAll();
    const aclBefore = execFileSync('getfacl', ['-n', '-p', other], { encoding: 'utf8' });
    const r = diskchain(['check-access', c.top, ...who, '--fix', '--allow-root', c.bases], { env });
    expect(r.status).toBe(2);
    expect(execFileSync('getfacl', ['-n', '-p', other], { encoding: 'utf8' })).toBe(aclBefore);
    expect(snapshotAll()).toEqual(before);
  });
});

describe('check-access --fix: failure half-way and kill -9', () => {
  function breakAll(): void {
    fs.chmodSync(c.bases, 0o700);
    execFileSync('setfacl', ['-m', 'u:107:---', c.vms]);
    fs.chownSync(c.top, 0, 0);
  }

  it('a failure after the first change puts the folder ACLs and owners back (rollback)', () => {
    breakAll();
    const before = snapshotAll();
    const r = diskchain(['check-access', c.top, ...who, '--fix', '--allow-root', c.bases], {
      env: { ...env, DISKCHAIN_TEST_FAIL_AT: '2:0' },
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/injected failure/);
    expect(snapshotAll()).toEqual(before);
    expect(diskchain(['undo', '--list'], { env }).stdout).toMatch(/access-fix +rolled-back/);
  });

  it('killed half-way, `diskchain recover` brings every folder and file back', () => {
    breakAll();
    const before = snapshotAll();
    const r = diskchain(['check-access', c.top, ...who, '--fix', '--allow-root', c.bases], {
      env: { ...env, DISKCHAIN_TEST_KILL_AT: '1:1' },
    });
    expect(r.status).not.toBe(0);
    expect(snapshotAll()).not.toEqual(before);
    const rec = diskchain(['recover'], { env });
    expect(rec.stdout).toMatch(/recovered .*: \d+ files? put back/);
    expect(snapshotAll()).toEqual(before);
  });
});

describe('the helper and access fixes: only what it plans itself', () => {
  it('plans with access-plan, validates the request, and refuses a preview that asks for more than the rule allows', () => {
    fs.chmodSync(c.bases, 0o700);
    const bad = handleLine(JSON.stringify({ id: 1, verb: 'access-plan', path: c.top, profile: { user: '../x', group: '+107' } }));
    expect(bad).toMatchObject({ ok: false, error: expect.stringMatching(/invalid request: profile.user/) });
    const res = handleLine(JSON.stringify({ id: 2, verb: 'access-plan', path: c.top, profile: { ...profile, allowRoots: [c.bases] } }));
    expect(res.ok).toBe(true);
    const plan = (res as { result: Plan }).result;
    expect(plan.access?.folders.map((f) => f.after.acl)).toEqual(['user::rwx,user:107:--x,group::---,mask::--x,other::---']);
    const before = snapshotAll();
    // A tampered preview: rwx instead of --x, and /etc thrown in.
    const tampered: Plan = JSON.parse(JSON.stringify(plan));
    tampered.access!.folders[0]!.after.acl = 'user::rwx,user:107:rwx,group::---,mask::rwx,other::---';
    tampered.access!.folders.push({ ...tampered.access!.folders[0]!, path: '/etc' });
    const applied = handleLine(JSON.stringify({ id: 3, verb: 'apply', plan: tampered }));
    expect(applied.ok).toBe(true);
    const result = (applied as { result: { ok: boolean; refusals: { path: string; message: string }[] } }).result;
    expect(result.ok).toBe(false);
    expect(result.refusals.map((r) => r.path)).toEqual([c.bases, '/etc']);
    expect(snapshotAll()).toEqual(before);
    // The untampered preview goes through.
    const good = handleLine(JSON.stringify({ id: 4, verb: 'apply', plan }));
    expect((good as { result: { ok: boolean } }).result.ok).toBe(true);
    expect(allOk(chainOpens())).toBe(true);
  });
});
