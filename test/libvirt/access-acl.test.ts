// acl.ts against the real thing: ACLs set by setfacl and read back by getfacl, and the kernel's
// own access decisions for a process running as uid 107 (setpriv), on real files as root.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ACL_XATTR,
  AclError,
  MAX_ACL_ENTRIES,
  aclFromMode,
  aclLines,
  checkAccess,
  modeForAcl,
  parseAcl,
  serializeAcl,
  type Acl,
  type AclEntry,
} from '../../electron/node/change/acl.js';
import { folderChangeProblems, folderFix } from '../../electron/node/access/rule.js';
import { groupList, lgetxattr } from '../../electron/node/native/libc.js';
import type { RawState } from '../../electron/node/change/state.js';
import { tempDir } from '../support/qemu.js';

let tmp: { dir: string; cleanup: () => void };
beforeAll(() => {
  tmp = tempDir('diskchain-acl-');
  fs.chmodSync(tmp.dir, 0o755);
});
afterAll(() => tmp.cleanup());

const perm = fc.integer({ min: 0, max: 7 });
const rwx = (p: number) => `${p & 4 ? 'r' : '-'}${p & 2 ? 'w' : '-'}${p & 1 ? 'x' : '-'}`;

/** A random valid ACL (named entries from small id sets so they hit the caller often). */
const aclArb = fc.record({
  user: perm,
  group: perm,
  other: perm,
  mask: perm,
  users: fc.uniqueArray(fc.record({ id: fc.constantFrom(0, 107, 108, 5000), perm }), { selector: (e) => e.id, maxLength: 3 }),
  groups: fc.uniqueArray(fc.record({ id: fc.constantFrom(0, 107, 2000, 2001, 2002), perm }), { selector: (e) => e.id, maxLength: 3 }),
  withAcl: fc.boolean(),
  uid: fc.constantFrom(0, 107, 108),
  gid: fc.constantFrom(0, 107, 2000, 2003),
});
type Case = typeof aclArb extends fc.Arbitrary<infer T> ? T : never;

function setfaclSpec(c: Case): string {
  const parts = [
    `u::${rwx(c.user)}`,
    ...c.users.map((u) => `u:${u.id}:${rwx(u.perm)}`),
    `g::${rwx(c.group)}`,
    ...c.groups.map((g) => `g:${g.id}:${rwx(g.perm)}`),
  ];
  if (c.users.length || c.groups.length) parts.push(`m::${rwx(c.mask)}`);
  parts.push(`o::${rwx(c.other)}`);
  return parts.join(',');
}

/** Make `n` files with random owners and ACLs (setfacl -n: the mask as given, not recomputed). */
function makeCases(dir: string, cases: Case[]): string[] {
  fs.mkdirSync(dir, { mode: 0o755 });
  return cases.map((c, i) => {
    const f = path.join(dir, `f${i}`);
    fs.writeFileSync(f, 'x');
    fs.chownSync(f, c.uid, c.gid);
    if (c.withAcl) execFileSync('setfacl', ['-n', '--set', setfaclSpec(c), f]);
    else fs.chmodSync(f, (c.user << 6) | (c.group << 3) | c.other);
    return f;
  });
}

/** getfacl's entries for each file (numeric ids, no effective-rights comments). */
function getfacl(files: string[]): string[][] {
  const text = execFileSync('getfacl', ['-n', '-E', '-p', ...files], { encoding: 'utf8' });
  return text
    .split(/\n\n/)
    .filter((b) => b.trim())
    .map((b) => b.split('\n').filter((l) => l && !l.startsWith('#')));
}

const WANTS = [4, 2, 1, 6] as const;
/** The kernel's verdicts for a process of uid 107, gid 107 and `groups`: access(2) per file and want. */
function kernelVerdicts(files: string[], groups: number[]): boolean[][] {
  const script = `const fs=require('fs');const o=[];for(const f of JSON.parse(process.argv[1])){o.push([4,2,1,6].map((w)=>{try{fs.accessSync(f,w);return true}catch{return false}}))}process.stdout.write(JSON.stringify(o))`;
  const r = spawnSync(
    'setpriv',
    [
      '--reuid',
      '107',
      '--regid',
      '107',
      groups.length ? `--groups=${groups.join(',')}` : '--clear-groups',
      process.execPath,
      '-e',
      script,
      JSON.stringify(files),
    ],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout);
}

describe('ACL xattr: parse and serialize against setfacl/getfacl', () => {
  it('parses what the kernel stores exactly as getfacl prints it, and serializes it back byte for byte', () => {
    const cases = fc.sample(aclArb, { numRuns: 150, seed: 4242 }).map((c) => ({ ...c, withAcl: true }));
    const files = makeCases(path.join(tmp.dir, 'parse'), cases);
    const printed = getfacl(files);
    let stored = 0;
    files.forEach((f, i) => {
      const raw = lgetxattr(f, ACL_XATTR);
      const mode = fs.statSync(f).mode;
      // A minimal ACL is no ACL: the kernel keeps only the mode.
      const acl = raw ? parseAcl(raw) : aclFromMode(mode);
      if (raw) {
        stored++;
        expect(serializeAcl(acl).equals(raw)).toBe(true);
        expect(modeForAcl(acl, mode)).toBe(mode);
      }
      expect(aclLines(acl)).toEqual(printed[i]);
    });
    expect(stored).toBeGreaterThan(100);
  });

  it('refuses hostile bytes with a clear error, never anything else', () => {
    const good = serializeAcl([
      { tag: 'user_obj', id: null, perm: 7 },
      { tag: 'user', id: 107, perm: 1 },
      { tag: 'group_obj', id: null, perm: 5 },
      { tag: 'mask', id: null, perm: 5 },
      { tag: 'other', id: null, perm: 0 },
    ]);
    expect(() => parseAcl(good.subarray(0, 2))).toThrow(/truncated/);
    expect(() => parseAcl(good.subarray(0, good.length - 3))).toThrow(/truncated/);
    const v1 = Buffer.from(good);
    v1.writeUInt32LE(1, 0);
    expect(() => parseAcl(v1)).toThrow(/version 1, not 2/);
    const many = Buffer.alloc(4 + 8 * (MAX_ACL_ENTRIES + 1));
    many.writeUInt32LE(2, 0);
    expect(() => parseAcl(many)).toThrow(/too many entries/);
    const badTag = Buffer.from(good);
    badTag.writeUInt16LE(0x40, 4 + 8);
    expect(() => parseAcl(badTag)).toThrow(/unknown tag 0x40/);
    const badPerm = Buffer.from(good);
    badPerm.writeUInt16LE(0x10, 4 + 2);
    expect(() => parseAcl(badPerm)).toThrow(/beyond rwx/);
    const noMask = serializeAcl(aclFromMode(0o750));
    const named = Buffer.concat([noMask.subarray(0, 12), Buffer.from([2, 0, 1, 0, 107, 0, 0, 0]), noMask.subarray(12)]);
    expect(() => parseAcl(named)).toThrow(/no mask/);
    // Random bytes behind a valid header: an AclError or a valid ACL, nothing else.
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (body) => {
        const buf = Buffer.concat([Buffer.from([2, 0, 0, 0]), body]);
        try {
          const acl = parseAcl(buf);
          expect(serializeAcl(acl).equals(buf)).toBe(true);
        } catch (e) {
          expect(e).toBeInstanceOf(AclError);
        }
      }),
      { numRuns: 2000, seed: 7 },
    );
  });
});

describe("the kernel's check, evaluated", () => {
  it('agrees with access(2) run as uid 107 for random owners, modes, ACLs and masks', () => {
    const cases = fc.sample(aclArb, { numRuns: 300, seed: 99 });
    const files = makeCases(path.join(tmp.dir, 'eval'), cases);
    for (const groups of [[], [2000, 2002]]) {
      const kernel = kernelVerdicts(files, groups);
      const ours = files.map((f) => {
        const st = fs.statSync(f);
        const raw = lgetxattr(f, ACL_XATTR);
        const inode = { uid: st.uid, gid: st.gid, mode: st.mode, acl: raw ? parseAcl(raw) : null };
        return WANTS.map((w) => checkAccess(inode, { uid: 107, groups: [107, ...groups] }, w).ok);
      });
      const diffs = files.flatMap((f, i) =>
        JSON.stringify(ours[i]) === JSON.stringify(kernel[i])
          ? []
          : [
              `${setfaclSpec(cases[i]!)} owner ${cases[i]!.uid}:${cases[i]!.gid} acl=${cases[i]!.withAcl}: ours ${ours[i]} kernel ${kernel[i]}`,
            ],
      );
      expect(diffs).toEqual([]);
    }
  });

  it('names the rule: a named entry cancelled by the mask, and an ACL skipped because its mask is empty', () => {
    const acl: Acl = [
      { tag: 'user_obj', id: null, perm: 7 },
      { tag: 'user', id: 107, perm: 5 },
      { tag: 'group_obj', id: null, perm: 0 },
      { tag: 'mask', id: null, perm: 4 },
      { tag: 'other', id: null, perm: 0 },
    ];
    const d = checkAccess({ uid: 0, gid: 0, mode: 0o40740, acl }, { uid: 107, groups: [107] }, 1);
    expect(d).toMatchObject({ ok: false, rule: 'named-user', granted: 4, entry: 'user:107:r-x masked by mask::r--' });
    const empty = acl.map((e): AclEntry => (e.tag === 'mask' ? { ...e, perm: 0 } : e));
    const skipped = checkAccess({ uid: 0, gid: 0, mode: 0o40705, acl: empty }, { uid: 107, groups: [107] }, 1);
    expect(skipped).toMatchObject({ ok: true, rule: 'other', aclIgnored: true });
  });
});

describe('the folder fix rule', () => {
  const state = (mode: number, acl: Acl | null, uid = 0): RawState => ({
    dev: 1,
    ino: 2,
    nlink: 2,
    mode: 0o40000 | mode,
    uid,
    gid: 0,
    xattrs: acl ? { [ACL_XATTR]: serializeAcl(acl).toString('hex') } : {},
  });

  it('adds user:<uid>:--x and a mask, or x on an existing entry and mask, nothing else', () => {
    const a = folderFix(state(0o700, null), 107);
    expect(a.changes).toEqual(['add user:107:--x', 'add mask::--x', 'mode 0700 → 0710']);
    expect(folderChangeProblems('/srv/x', state(0o700, null), a.to, 107)).toEqual([]);
    const denying: Acl = [
      { tag: 'user_obj', id: null, perm: 7 },
      { tag: 'user', id: 107, perm: 0 },
      { tag: 'group_obj', id: null, perm: 5 },
      { tag: 'mask', id: null, perm: 4 },
      { tag: 'other', id: null, perm: 5 },
    ];
    const b = folderFix(state(0o745, denying), 107);
    // group:: names r-x but the mask held it to r--: widening the mask gives the group x too, and the preview says so.
    expect(b.changes).toEqual([
      'user:107:--- → user:107:--x',
      'mask::r-- → mask::r-x',
      '(the wider mask also lets group::r-x search this folder)',
      'mode 0745 → 0755',
    ]);
    expect(folderChangeProblems('/srv/x', state(0o745, denying), b.to, 107)).toEqual([]);
    const own = folderFix(state(0o600, null, 107), 107);
    expect(own.changes).toEqual(["user::rw- → user::rwx (the VM's uid owns the folder)", 'mode 0600 → 0700']);
  });

  it('refuses anything wider: removed entries, r or w, another uid, system folders', () => {
    const from = state(0o700, null);
    const wide = folderFix(from, 107).to;
    const rw = {
      ...wide,
      xattrs: {
        [ACL_XATTR]: serializeAcl([
          { tag: 'user_obj', id: null, perm: 7 },
          { tag: 'user', id: 107, perm: 7 },
          { tag: 'group_obj', id: null, perm: 0 },
          { tag: 'mask', id: null, perm: 7 },
          { tag: 'other', id: null, perm: 0 },
        ]).toString('hex'),
      },
      mode: 0o40770,
    };
    expect(folderChangeProblems('/srv/x', from, rw, 107).join('; ')).toMatch(/would add user:107:rwx/);
    expect(folderChangeProblems('/srv/x', from, folderFix(from, 108).to, 107).join('; ')).toMatch(/would add user:108:--x/);
    expect(folderChangeProblems('/srv/x', wide, from, 107).join('; ')).toMatch(/would remove user:107:--x/);
    expect(folderChangeProblems('/etc/libvirt', from, wide, 107).join('; ')).toMatch(/system folder/);
  });
});

describe('supplementary groups', () => {
  it('getgrouplist gives what id -G gives', () => {
    for (const u of ['root', 'postgres', 'daemon']) {
      const r = spawnSync('id', ['-G', u], { encoding: 'utf8' });
      if (r.status !== 0) continue;
      const gid = Number(spawnSync('id', ['-g', u], { encoding: 'utf8' }).stdout.trim());
      expect(new Set(groupList(u, gid))).toEqual(new Set(r.stdout.trim().split(/\s+/).map(Number)));
    }
  });
});
