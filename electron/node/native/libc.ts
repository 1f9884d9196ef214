// The few libc calls Node lacks: xattrs without following links or on descriptors, and NSS
// lookups (getpwuid_r & co honour nsswitch.conf, so LDAP/sssd users get their names).
// Bound through koffi, a maintained FFI with prebuilt binaries, so there is no process per file.
import { createRequire } from 'node:module';
import * as os from 'node:os';

const require = createRequire(import.meta.url);
// koffi is CommonJS with a native addon; load it lazily so importing this module stays cheap.
type Koffi = typeof import('koffi');
let koffi: Koffi | null = null;
let lib: ReturnType<typeof bind> | null = null;

function bind() {
  const k = (koffi = require('koffi') as Koffi);
  const c = k.load('libc.so.6');
  const passwd = k.struct('diskchain_passwd', {
    pw_name: 'char*',
    pw_passwd: 'char*',
    pw_uid: 'uint32_t',
    pw_gid: 'uint32_t',
    pw_gecos: 'char*',
    pw_dir: 'char*',
    pw_shell: 'char*',
  });
  const group = k.struct('diskchain_group', {
    gr_name: 'char*',
    gr_passwd: 'char*',
    gr_gid: 'uint32_t',
    gr_mem: 'void*',
  });
  return {
    lgetxattr: c.func('intptr_t lgetxattr(const char *path, const char *name, _Out_ uint8_t *value, size_t size)'),
    llistxattr: c.func('intptr_t llistxattr(const char *path, _Out_ uint8_t *list, size_t size)'),
    lsetxattr: c.func('int lsetxattr(const char *path, const char *name, const uint8_t *value, size_t size, int flags)'),
    fgetxattr: c.func('intptr_t fgetxattr(int fd, const char *name, _Out_ uint8_t *value, size_t size)'),
    flistxattr: c.func('intptr_t flistxattr(int fd, _Out_ uint8_t *list, size_t size)'),
    fsetxattr: c.func('int fsetxattr(int fd, const char *name, const uint8_t *value, size_t size, int flags)'),
    fremovexattr: c.func('int fremovexattr(int fd, const char *name)'),
    getpwuid_r: c.func(
      `int getpwuid_r(uint32_t uid, _Out_ ${'diskchain_passwd'} *pwd, _Out_ uint8_t *buf, size_t buflen, _Out_ void **result)`,
    ),
    getgrgid_r: c.func(
      `int getgrgid_r(uint32_t gid, _Out_ ${'diskchain_group'} *grp, _Out_ uint8_t *buf, size_t buflen, _Out_ void **result)`,
    ),
    getpwnam_r: c.func(
      `int getpwnam_r(const char *name, _Out_ ${'diskchain_passwd'} *pwd, _Out_ uint8_t *buf, size_t buflen, _Out_ void **result)`,
    ),
    getgrnam_r: c.func(
      `int getgrnam_r(const char *name, _Out_ ${'diskchain_group'} *grp, _Out_ uint8_t *buf, size_t buflen, _Out_ void **result)`,
    ),
    getgrouplist: c.func('int getgrouplist(const char *user, uint32_t group, _Out_ uint32_t *groups, _Inout_ int *ngroups)'),
    // syscall(2) is variadic, but glibc's is a register shuffle in assembly that reads no
    // va_list, so a fixed prototype for openat2's four arguments is safe, and far cheaper per
    // call through koffi than a variadic one (its argument types are parsed on every call).
    openat2: c.func('long syscall(long nr, int dirfd, const char *path, const uint8_t *how, size_t size)'),
    openat: c.func('int openat(int dirfd, const char *path, int flags, ...)'),
    statx: c.func('int statx(int dirfd, const char *path, int flags, unsigned int mask, _Out_ uint8_t *buf)'),
    passwd,
    group,
  };
}

function libc() {
  return (lib ??= bind());
}

function errno(): number {
  return koffi!.errno();
}

const ERRNO_NAMES = Object.fromEntries(Object.entries(os.constants.errno).map(([k, v]) => [v, k])) as Record<number, string>;

/** An errno from a libc call, shaped like Node's own system errors (code, errno, syscall). */
export class LibcError extends Error {
  readonly code: string;
  constructor(
    readonly syscall: string,
    readonly errno: number,
    readonly target: string,
  ) {
    const code = ERRNO_NAMES[errno] ?? `E${errno}`;
    super(`${syscall} ${target}: ${code}`);
    this.code = code;
  }
}

const ENODATA = os.constants.errno.ENODATA;
const ERANGE = os.constants.errno.ERANGE;
const ENOTSUP = os.constants.errno.ENOTSUP ?? 95;

/** Xattr values we read are labels and counters; 64 KiB is the kernel's own limit. */
const XATTR_MAX = 65536;
/**
 * Asked first: the kernel allocates the size asked for on every get (a 64 KiB ask cost about
 * 2 us a call here, a 1 KiB one nothing), and labels and counters fit; ERANGE asks again in full.
 */
const XATTR_USUAL = 1024;
const scratch = Buffer.alloc(XATTR_MAX);

function readAttr(call: (buf: Buffer, size: number) => number, what: string, target: string): Buffer | null {
  let n = call(scratch, XATTR_USUAL);
  if (n < 0 && errno() === ERANGE) n = call(scratch, XATTR_MAX);
  if (n >= 0) return Buffer.from(scratch.subarray(0, n));
  const e = errno();
  if (e === ENODATA || e === ENOTSUP) return null;
  throw new LibcError(what, e, target);
}

function splitNames(buf: Buffer | null): string[] {
  if (!buf || buf.length === 0) return [];
  return buf.toString('latin1').split('\0').filter(Boolean);
}

/** Value of one xattr of the link itself (never followed); null when absent or unsupported. */
export function lgetxattr(path: string, name: string): Buffer | null {
  return readAttr((b, s) => Number(libc().lgetxattr(path, name, b, s)), 'lgetxattr', path);
}

/** Names of the xattrs of the link itself; [] where the filesystem has none. */
export function llistxattr(path: string): string[] {
  return splitNames(readAttr((b, s) => Number(libc().llistxattr(path, b, s)), 'llistxattr', path));
}

export function lsetxattr(path: string, name: string, value: Buffer | string): void {
  const v = typeof value === 'string' ? Buffer.from(value) : value;
  if (libc().lsetxattr(path, name, v, v.length, 0) !== 0) throw new LibcError('lsetxattr', errno(), path);
}

export function fgetxattr(fd: number, name: string): Buffer | null {
  return readAttr((b, s) => Number(libc().fgetxattr(fd, name, b, s)), 'fgetxattr', `fd ${fd}`);
}

export function flistxattr(fd: number): string[] {
  return splitNames(readAttr((b, s) => Number(libc().flistxattr(fd, b, s)), 'flistxattr', `fd ${fd}`));
}

export function fsetxattr(fd: number, name: string, value: Buffer | string): void {
  const v = typeof value === 'string' ? Buffer.from(value) : value;
  if (libc().fsetxattr(fd, name, v, v.length, 0) !== 0) throw new LibcError('fsetxattr', errno(), `fd ${fd}`);
}

/** Remove an xattr; absent is fine (restore may find it gone already). */
export function fremovexattr(fd: number, name: string): void {
  if (libc().fremovexattr(fd, name) !== 0) {
    const e = errno();
    if (e !== ENODATA) throw new LibcError('fremovexattr', e, `fd ${fd}`);
  }
}

type Lookup = (key: number | string, rec: object, buf: Buffer, size: number, result: unknown[]) => number;

function nss<T>(fn: Lookup, key: number | string, pick: (rec: Record<string, unknown>) => T): T | null {
  let size = 4096;
  for (;;) {
    const buf = Buffer.alloc(size);
    const rec: Record<string, unknown> = {};
    const result: unknown[] = [null];
    const rc = fn(key, rec, buf, size, result);
    if (rc === ERANGE && size < 1 << 20) {
      size *= 4;
      continue;
    }
    if (rc !== 0 || !result[0]) return null;
    return pick(rec);
  }
}

const userNames = new Map<number, string | null>();
const groupNames = new Map<number, string | null>();

/** User name for a uid through NSS, cached for the process; null when there is none. */
export function userName(uid: number): string | null {
  let v = userNames.get(uid);
  if (v === undefined) {
    v = nss(libc().getpwuid_r as unknown as Lookup, uid, (r) => String(r.pw_name));
    userNames.set(uid, v);
  }
  return v;
}

export function groupName(gid: number): string | null {
  let v = groupNames.get(gid);
  if (v === undefined) {
    v = nss(libc().getgrgid_r as unknown as Lookup, gid, (r) => String(r.gr_name));
    groupNames.set(gid, v);
  }
  return v;
}

/** uid and primary gid for a user name; null when NSS has no such user. */
export function lookupUser(name: string): { uid: number; gid: number } | null {
  return nss(libc().getpwnam_r as unknown as Lookup, name, (r) => ({ uid: Number(r.pw_uid), gid: Number(r.pw_gid) }));
}

export function lookupGroup(name: string): number | null {
  return nss(libc().getgrnam_r as unknown as Lookup, name, (r) => Number(r.gr_gid));
}

/**
 * The groups a process started for `user` with primary group `gid` gets (getgrouplist, as
 * libvirt's virGetGroupList does before exec'ing qemu): `gid` first, then every group NSS lists
 * the user in. Sorted after the first, without duplicates.
 */
export function groupList(user: string, gid: number): number[] {
  let n = 64;
  for (let attempt = 0; attempt < 8; attempt++) {
    const buf = new Uint32Array(n);
    const count = [n];
    const rc = Number(libc().getgrouplist(user, gid, buf, count));
    const got = count[0] ?? 0;
    if (rc >= 0) {
      const rest = [...new Set(Array.from(buf.subarray(0, Math.min(got, n))).filter((g) => g !== gid))].sort((a, b) => a - b);
      return [gid, ...rest];
    }
    // -1: the buffer was too small and `count` now says how many there are.
    if (got <= n || got > 65536) break;
    n = got;
  }
  throw new Error(`getgrouplist ${user}: cannot list the groups`);
}

// libselinux (optional): the policy's default context for a path, as restorecon/matchpathcon
// give it. Loaded on first use; absent library or absent policy both mean "no default".
type SelinuxLib = {
  enabled: () => number;
  open: (backend: number, opts: null, nopts: number) => unknown;
  lookup: (handle: unknown, con: unknown[], key: string, type: number) => number;
  freecon: (con: unknown) => void;
};
let selinuxLib: SelinuxLib | null | undefined;
let selabelHandle: unknown;

function libselinux(): SelinuxLib | null {
  if (selinuxLib !== undefined) return selinuxLib;
  try {
    const k = (koffi ??= require('koffi') as Koffi);
    const s = k.load('libselinux.so.1');
    selinuxLib = {
      enabled: s.func('int is_selinux_enabled(void)') as unknown as SelinuxLib['enabled'],
      open: s.func('void *selabel_open(unsigned int backend, const void *opts, unsigned int nopts)') as unknown as SelinuxLib['open'],
      lookup: s.func(
        'int selabel_lookup_raw(void *handle, _Out_ void **con, const char *key, int type)',
      ) as unknown as SelinuxLib['lookup'],
      freecon: s.func('void freecon(void *con)') as unknown as SelinuxLib['freecon'],
    };
  } catch {
    selinuxLib = null;
  }
  return selinuxLib;
}

/** Whether SELinux is enabled on this host (libselinux is_selinux_enabled); false without libselinux. */
export function selinuxEnabled(): boolean {
  const s = libselinux();
  return s ? s.enabled() > 0 : false;
}

/** Whether a file-context policy can be opened (selabel_open succeeds): defaults can be looked up. */
export function selinuxPolicyAvailable(): boolean {
  const s = libselinux();
  if (!s) return false;
  if (selabelHandle === undefined) selabelHandle = s.open(0 /* SELABEL_CTX_FILE */, null, 0) ?? null;
  return selabelHandle !== null;
}

/**
 * The policy's default context for `path` with file mode `mode` (selabel_lookup_raw), or null
 * when there is no policy, no rule for the path, or no libselinux.
 */
export function selabelLookup(path: string, mode: number): string | null {
  const s = libselinux();
  if (!s || !selinuxPolicyAvailable()) return null;
  const out: unknown[] = [null];
  if (s.lookup(selabelHandle, out, path, mode) !== 0 || !out[0]) return null;
  try {
    return koffi!.decode(out[0], 'char', -1) as string;
  } finally {
    s.freecon(out[0]);
  }
}

// ---- path walks that never follow a link (walk.ts builds on these) ----------

/** openat2(2)'s resolve flags. */
export const RESOLVE = { NO_XDEV: 0x01, NO_MAGICLINKS: 0x02, NO_SYMLINKS: 0x04, BENEATH: 0x08 } as const;
/** openat2 is syscall 437 on every architecture Linux added it to after 5.6 (the unified table). */
const SYS_OPENAT2 = 437;
const ENOSYS = os.constants.errno.ENOSYS;
let openat2Missing = false;
/** struct open_how {flags, mode, resolve} for each combination used: a handful, made once. */
const openHows = new Map<number, Buffer>();

/** Walk without openat2 from now on, as on kernels before 5.6 (tests of the fallback). */
export function forgoOpenat2(forgo = true): void {
  openat2Missing = forgo;
}

/**
 * openat2(dirfd, path, {flags, resolve}); null where the kernel lacks it (before 5.6, or a
 * seccomp filter answers ENOSYS), so the caller walks component by component instead.
 */
export function openat2(dirfd: number, path: string, flags: number, resolve: number): number | null {
  if (openat2Missing) return null;
  const key = flags * 256 + resolve;
  let how = openHows.get(key);
  if (!how) {
    how = Buffer.alloc(24);
    how.writeBigUInt64LE(BigInt(flags), 0);
    how.writeBigUInt64LE(BigInt(resolve), 16);
    openHows.set(key, how);
  }
  const fd = Number(libc().openat2(SYS_OPENAT2, dirfd, path, how, how.length));
  if (fd >= 0) return fd;
  const e = errno();
  if (e === ENOSYS) {
    openat2Missing = true;
    return null;
  }
  throw new LibcError('openat2', e, path);
}

/** openat(dirfd, name, flags): one component of a walk. */
export function openat(dirfd: number, name: string, flags: number): number {
  const fd = libc().openat(dirfd, name, flags);
  if (fd >= 0) return fd;
  throw new LibcError('openat', errno(), name);
}

const STATX_MNT_ID = 0x1000;
const AT_EMPTY_PATH = 0x1000;
const statxBuf = Buffer.alloc(256);

/** The mount an open descriptor (O_PATH ones too) lies on, from statx; null where the kernel does not say. */
export function mountId(fd: number): number | null {
  if (libc().statx(fd, '', AT_EMPTY_PATH, STATX_MNT_ID, statxBuf) !== 0) throw new LibcError('statx', errno(), `fd ${fd}`);
  if ((statxBuf.readUInt32LE(0) & STATX_MNT_ID) === 0) return null;
  return Number(statxBuf.readBigUInt64LE(144));
}

// ---- file attributes and mount flags (diskchain why) -------------------------

function bindFs() {
  libc();
  const c = koffi!.load('libc.so.6');
  // ioctl(2) is variadic; on the 64-bit Linux ABIs (x86_64, aarch64) a pointer third argument is
  // passed exactly as in a fixed prototype, which koffi calls far more cheaply.
  return {
    ioctl: c.func('int ioctl(int fd, unsigned long request, _Out_ uint8_t *arg)'),
    statvfs: c.func('int statvfs(const char *path, _Out_ uint8_t *buf)'),
  };
}
let fsCalls: ReturnType<typeof bindFs> | null = null;

function fsLib() {
  return (fsCalls ??= bindFs());
}

/** FS_IOC_GETFLAGS: _IOR('f', 1, long), the size of a long on 64-bit Linux. */
const FS_IOC_GETFLAGS = 0x80086601;
export const FS_FLAG = { IMMUTABLE: 0x10, APPEND: 0x20 } as const;

/** The inode flags of an open file (chattr's attributes); null where the file system has none. */
export function inodeFlags(fd: number): number | null {
  const buf = Buffer.alloc(8);
  if (fsLib().ioctl(fd, FS_IOC_GETFLAGS, buf) === 0) return buf.readUInt32LE(0);
  const e = errno();
  if (e === os.constants.errno.ENOTTY || e === ENOTSUP || e === os.constants.errno.EINVAL) return null;
  throw new LibcError('ioctl FS_IOC_GETFLAGS', e, `fd ${fd}`);
}

/** statvfs's ST_RDONLY. */
const ST_RDONLY = 1;
/** Offset of f_flag in struct statvfs on 64-bit Linux (nine 8-byte fields before it). */
const F_FLAG_OFFSET = 72;

/** Whether the mount holding `path` is read-only (statvfs ST_RDONLY: the mount's or the file system's flag). */
export function onReadOnlyMount(path: string): boolean {
  const buf = Buffer.alloc(256);
  if (fsLib().statvfs(path, buf) !== 0) throw new LibcError('statvfs', errno(), path);
  return (Number(buf.readBigUInt64LE(F_FLAG_OFFSET)) & ST_RDONLY) !== 0;
}
