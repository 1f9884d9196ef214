// What a user, a group, an SELinux context, a path and the VM profile the form sends may be:
// written once, here. The renderer↔main contract (ipc.ts), the privileged helper's request
// schema and the engine's profile checks all use these, so a value one of them accepts is
// never refused by another. zod only: the renderer, the main process and the helper import it.
import { z } from 'zod';

/** Longest path accepted (Linux PATH_MAX). */
export const MAX_PATH = 4096;
/** Largest uid or gid: (uid_t)-1 means "unchanged" to chown, so it is never an owner. */
export const MAX_ID = 0xfffffffe;
/** Longest user or group name (useradd's limit, the trailing `$` included). */
export const MAX_NAME = 32;
/** Longest SELinux context accepted. */
export const MAX_CONTEXT = 255;

// useradd's NAME_REGEX style, upper case allowed: a letter or `_` first, `$` only at the end
// (Samba machine accounts). A leading digit is refused so that a name never reads as a number.
const NAME_RE = /^[A-Za-z_][A-Za-z0-9_.-]*\$?$/;
const NUMBER_RE = /^\+?\d{1,10}$/;

/**
 * The id a `+N` or a plain `N` names; null for anything else (a name, or past MAX_ID).
 * libvirt's virGetUserID/virGetGroupID: `+N` is always the number; a plain `N` is a name first,
 * then the number when no user or group has that name.
 */
export function idNumber(s: string): number | null {
  if (!NUMBER_RE.test(s)) return null;
  const n = Number(s.startsWith('+') ? s.slice(1) : s);
  return n <= MAX_ID ? n : null;
}

/** A user or group as qemu.conf and <seclabel model='dac'> take it: a name, `+N` or `N`. */
export function isIdName(s: unknown): s is string {
  if (typeof s !== 'string') return false;
  if (/^\+?\d/.test(s)) return idNumber(s) !== null;
  return s.length <= MAX_NAME && NAME_RE.test(s);
}

// user:role:type:level, the level required: libvirt writes one on every image label
// (system_u:object_r:svirt_image_t:s0:c1,c2) and refuses a relabel without it. The level is a
// sensitivity with optional categories, optionally a range to a second one (s0-s0:c0.c1023).
const WORD = '[A-Za-z0-9_.]+';
const LEVEL = `${WORD}(?::${WORD}(?:,${WORD})*)?`;
const CONTEXT_RE = new RegExp(`^${WORD}:${WORD}:${WORD}:${LEVEL}(?:-${LEVEL})?$`);

/** An SELinux context user:role:type:level, as libvirt writes image labels. */
export function isContext(s: unknown): s is string {
  return typeof s === 'string' && s.length <= MAX_CONTEXT && CONTEXT_RE.test(s);
}

/** A path a request may name: not empty, no NUL, at most PATH_MAX (relative ones are refused later, path by path). */
export function isPath(s: unknown): s is string {
  return typeof s === 'string' && s.length > 0 && s.length <= MAX_PATH && !s.includes('\0');
}

/** A path the privileged helper may be given: absolute as well. */
export function isAbsolutePath(s: unknown): s is string {
  return isPath(s) && s.startsWith('/');
}

export const ID_NAME_MESSAGE = 'a user or group is a name or +N, or a plain number N (for instance qemu, +107 or 107)';
export const CONTEXT_MESSAGE = 'an SELinux label reads user:role:type:level (for instance system_u:object_r:svirt_image_t:s0:c1,c2)';

export const IdNameSchema = z.string().refine(isIdName, ID_NAME_MESSAGE);
export const ContextSchema = z.string().refine(isContext, CONTEXT_MESSAGE);

export const PathSchema = z
  .string()
  .min(1, 'a path is empty')
  .max(MAX_PATH, 'a path is longer than 4096 characters')
  .refine((s) => !s.includes('\0'), 'a path contains a NUL byte');
export const AbsolutePathSchema = PathSchema.refine((s) => s.startsWith('/'), 'not an absolute path');

export const DriverSchema = z.enum(['dac', 'selinux']);

/**
 * The VM profile as the relabel form sends it. `allowRoots` is deliberately absent: the folders
 * that may change are the ones the user opened, and only the owning process knows those.
 */
export const ProfileInputSchema = z.strictObject({
  drivers: z
    .array(DriverSchema)
    .min(1, 'choose at least one driver')
    .max(2)
    .refine((d) => new Set(d).size === d.length, 'a driver is listed twice'),
  user: IdNameSchema,
  group: IdNameSchema,
  imageLabel: ContextSchema.optional(),
  readonly: z.boolean(),
  shareable: z.boolean(),
  allowHardLinks: z.boolean().optional(),
});
export type ProfileInput = z.infer<typeof ProfileInputSchema>;

/** The form's typed fields, each of which shows its own error. */
export const PROFILE_FIELDS = ['user', 'group', 'imageLabel'] as const;
export type ProfileField = (typeof PROFILE_FIELDS)[number];

/** A failed profile's issues split into the first one per typed field and the others. */
export function fieldIssues(error: z.ZodError): { fields: Partial<Record<ProfileField, string>>; rest: z.ZodError['issues'] } {
  const fields: Partial<Record<ProfileField, string>> = {};
  const rest: z.ZodError['issues'] = [];
  for (const issue of error.issues) {
    const f = PROFILE_FIELDS.find((name) => issue.path.length === 1 && issue.path[0] === name);
    if (f) fields[f] ??= issue.message;
    else rest.push(issue);
  }
  return { fields, rest };
}
