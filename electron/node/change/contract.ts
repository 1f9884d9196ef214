// The helper's wire format: one JSON request per line on stdin, one JSON answer per line on
// stdout. Every request is validated here before anything else looks at it.
import { z } from 'zod';
import type { ApplyResult, JournalSummary, Plan, RecoverResult } from '../../../shared/plan.js';
import { AbsolutePathSchema as Path, ContextSchema as Context, IdNameSchema as IdName } from '../../../shared/rules.js';

export const HELPER_PROTOCOL = 1;
/** A request line longer than this is refused (a plan for 11,000 files is a few MB). */
export const MAX_LINE = 256 * 1024 * 1024;

const MAX_FILES = 200_000;
const Text = z.string().max(4096);
const Uint = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

/** A disk's or layer's own <seclabel> (shared/plan.ts DiskSeclabel); its label is checked by profileProblems. */
const SeclabelSchema = z.object({
  model: z.enum(['dac', 'selinux']),
  relabel: z.boolean(),
  label: z.string().max(255).optional(),
});

const DiskProfileSchema = z.object({
  path: Path,
  target: z.string().max(64).optional(),
  readonly: z.boolean(),
  shareable: z.boolean(),
  seclabels: z.array(SeclabelSchema).max(8),
  layerSeclabels: z.record(Path, z.array(SeclabelSchema).max(8)).optional(),
  /** null: the domain states no format; libvirt then opens the top as raw, and so does the plan. */
  format: z.literal('raw').nullable().optional(),
  explicitDataStore: z.boolean().optional(),
});

export const ProfileSchema = z.object({
  drivers: z
    .array(z.enum(['dac', 'selinux']))
    .min(1)
    .max(2),
  user: IdName.or(z.literal('')),
  group: IdName.or(z.literal('')),
  imageLabel: Context.optional(),
  readonly: z.boolean(),
  shareable: z.boolean(),
  allowRoots: z.array(Path).max(64),
  allowHardLinks: z.boolean().optional(),
  openedFolders: z.array(Path).max(1024).optional(),
  rememberOwner: z.boolean().optional(),
  disks: z.array(DiskProfileSchema).max(256).optional(),
});

const FileStateSchema = z.object({
  dev: Uint,
  ino: Uint,
  uid: Uint,
  gid: Uint,
  mode: Uint,
  selinux: Text.nullable(),
  libvirt: z.record(z.string().max(64), Text),
  nlink: Uint.optional(),
  user: Text.nullable().optional(),
  group: Text.nullable().optional(),
  acl: Text.nullable().optional(),
});

const Gid = z.number().int().min(0).max(0xfffffffe);

const FolderAclSchema = z.object({
  path: Path,
  before: FileStateSchema,
  after: FileStateSchema,
  changes: z.array(Text).max(64),
  for: z.array(Path).max(MAX_FILES),
});

const AccessFixSchema = z.object({
  path: Path,
  groups: z.array(Gid).max(65536).optional(),
  folders: z.array(FolderAclSchema).max(MAX_FILES),
});

/** check-access's options (shared/access.ts AccessProfile). */
export const AccessProfileSchema = z.object({
  user: IdName,
  group: IdName,
  readonly: z.boolean().optional(),
  shareable: z.boolean().optional(),
  groups: z.array(Gid).max(65536).optional(),
  allowRoots: z.array(Path).max(64).optional(),
  openedFolders: z.array(Path).max(1024).optional(),
  imageLabel: Context.optional(),
});

const EntrySchema = z.object({
  path: Path,
  role: z.enum(['image', 'backing', 'data-file']),
  top: z.boolean(),
  before: FileStateSchema,
  after: FileStateSchema,
  remembered: z.boolean(),
  changes: z.array(Text).max(64),
  note: Text.optional(),
  disk: Path.optional(),
  target: z.boolean().optional(),
});

const RefusalSchema = z.object({ path: z.string().max(4096), message: Text });

export const PlanSchema = z.object({
  id: z
    .string()
    .min(1)
    .max(100)
    .regex(/^[A-Za-z0-9-]+$/),
  action: z.enum(['relabel', 'restore']),
  top: Path,
  profile: ProfileSchema,
  bootTime: z.string().regex(/^\d{1,20}$/),
  entries: z.array(EntrySchema).max(MAX_FILES),
  refusals: z.array(RefusalSchema).max(MAX_FILES),
  tops: z.array(Path).min(1).max(20_000).optional(),
  allowedRoots: z.array(Path).max(2048).optional(),
  notes: z.array(Text).max(1024).optional(),
  createdMs: Uint.optional(),
  access: AccessFixSchema.optional(),
});

/** sha256 (hex) of a previewed plan's entries (verify.ts entriesDigest), sent instead of them. */
const Digest = z.string().regex(/^[0-9a-f]{64}$/, 'not a sha256 digest');

/**
 * The one refusal of an apply whose fresh plan does not hash to the preview's digest: the client
 * asks again with the whole plan to learn which files differ (verify.ts planDifferences).
 */
export const DIGEST_MISMATCH = 'the plan made again differs from the preview (digest of the entries)';

const JournalId = z.string().regex(/^\d{8}-\d{9}-[0-9a-f]{6}$/, 'not a journal id');

/**
 * The helper's verbs: each one's request schema here, its result type in HelperResults. The
 * helper's server is a table with one handler per verb (helper/verbs.ts) and the client's
 * request() is typed by the same map, so a verb without a handler, or a call with the wrong
 * body, is a compile error.
 */
export const HELPER_VERBS = {
  probe: z.object({}),
  plan: z.object({ action: z.enum(['relabel', 'restore']), tops: z.array(Path).min(1).max(20_000), profile: ProfileSchema }),
  /** `progress`: send progress lines while it runs (HelperProgressLine); a cancel line is taken either way. */
  apply: z.object({ plan: PlanSchema, entriesDigest: Digest.optional(), progress: z.boolean().optional() }),
  rollback: z.object({ journalId: JournalId }),
  undo: z.object({ journalId: JournalId.optional() }),
  recover: z.object({}),
  list: z.object({}),
  'access-plan': z.object({ path: Path, profile: AccessProfileSchema }),
} as const;

export type HelperVerb = keyof typeof HELPER_VERBS;
export type RequestOf<V extends HelperVerb> = z.infer<(typeof HELPER_VERBS)[V]>;

export interface HelperResults {
  probe: ProbeResult;
  plan: Plan;
  apply: ApplyResult;
  rollback: ApplyResult;
  undo: ApplyResult;
  recover: RecoverResult;
  list: JournalSummary[];
  'access-plan': Plan;
}
export type ResultOf<V extends HelperVerb> = HelperResults[V];

const Envelope = z.object({ id: Uint, verb: z.string().max(64) }).passthrough();

/** A request line's id, verb and validated body; an error text when it is not a request. */
export function parseRequest(
  raw: unknown,
): { id: number; verb: HelperVerb; body: RequestOf<HelperVerb> } | { id: number | null; error: string } {
  const env = Envelope.safeParse(raw);
  const rawId = (raw as { id?: unknown })?.id;
  const id = typeof rawId === 'number' && Number.isSafeInteger(rawId) ? rawId : null;
  if (!env.success) return { id, error: `invalid request: ${issueText(env.error)}` };
  const verb = env.data.verb;
  if (!Object.hasOwn(HELPER_VERBS, verb)) return { id, error: `invalid request: verb: unknown verb '${verb.slice(0, 64)}'` };
  const { id: _id, verb: _verb, ...rest } = env.data;
  const body = HELPER_VERBS[verb as HelperVerb].safeParse(rest);
  if (!body.success) return { id, error: `invalid request: ${issueText(body.error)}` };
  return { id: env.data.id, verb: verb as HelperVerb, body: body.data };
}

function issueText(e: z.ZodError): string {
  const issue = e.issues[0];
  return issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'bad shape';
}

export type HelperResponse = { id: number; ok: true; result: unknown } | { id: number | null; ok: false; error: string };

/** Where a long verb (apply) is: `done` of `total` files, the file just done, files per second so far. */
export interface ApplyProgress {
  done: number;
  total: number;
  path: string;
  rate: number;
}

/** A line the helper sends while request `id` runs, before its answer (in order, `done` never decreasing). */
export interface HelperProgressLine {
  id: number;
  progress: ApplyProgress;
}

/** Sent to the helper while request `cancel` runs: stop it and put back what it changed, all or nothing. */
export const CancelLineSchema = z.object({ cancel: Uint }).strict();
export type CancelLine = z.infer<typeof CancelLineSchema>;

/** What a verb's handler may be given besides its body: where to report progress, and whether to stop. */
export interface VerbContext {
  progress?: (p: ApplyProgress) => void;
  /** True once the caller asked to stop; checked between files. */
  cancelled?: () => boolean;
}

export interface ProbeResult {
  protocol: number;
  pid: number;
  uid: number;
  bootTime: string;
  selinuxEnabled: boolean;
  selinuxPolicy: boolean;
  journalDir: string;
}
