// The renderer's state (zustand): opened disks, the laid-out graph, the selection, the relabel
// form with its live preview, and the apply/undo lifecycle. Components read it through
// selectors; every call out goes through api.ts.
import { create } from 'zustand';
import { ProfileInputSchema, describeIssues, type Command, type Disk, type HostInfo, type OpenResult, type ProfileInput } from '../shared/ipc.js';
import type { AccessReport } from '../shared/access.js';
import { fieldIssues, type ProfileField } from '../shared/rules.js';
import type { Action, ApplyResult, Plan, Refusal } from '../shared/plan.js';
import { getApi } from './api.js';
import { showDomainDialog } from './domain-store.js';
import { applyDelta, forestTop, onScanProgress, scanFolders, useForest } from './forest-store.js';
import { NODE_WIDTH, buildGraph, diskFor, estimateHeight, layoutGraph, type Box, type ChainGraph, type ElkLike, type GraphNode } from './graph/model.js';

export type Theme = 'light' | 'dark';
export type DriverChoice = 'dac' | 'selinux' | 'dac,selinux';

export interface FormState {
  driver: DriverChoice;
  user: string;
  group: string;
  label: string;
  readonly: boolean;
  shareable: boolean;
  allowHardLinks: boolean;
}

export interface Notice {
  id: number;
  kind: 'error' | 'info';
  text: string;
}

/** Relabel, Restore, or the access check with its fix. */
export type PanelAction = Action | 'access';

export interface Panel {
  action: PanelAction;
  top: string;
  /** The open domain whose profile (resolved by the owning process) is used instead of the form. */
  domain: string | null;
}

export interface PlanState {
  status: 'idle' | 'pending' | 'ready' | 'error';
  plan: Plan | null;
  error: string | null;
  /** The request the plan answers; a plan for another request is out of date. */
  key: string;
  /** The access check the plan fixes (action 'access'). */
  access?: AccessReport | null;
}

export interface ApplyState {
  status: 'idle' | 'running' | 'done' | 'error';
  done: number;
  total: number;
  message: string | null;
  result: ApplyResult | null;
  /** Why nothing was changed, file by file (or which files were left alone). */
  refusals: Refusal[];
}

export interface State {
  info: HostInfo | null;
  connected: boolean;
  disks: Disk[];
  /** Paths being opened right now. */
  loading: string[];
  graph: ChainGraph;
  boxes: Map<string, Box>;
  /** Bumped on every new graph, so a late layout never overwrites a newer one. */
  graphVersion: number;
  /** The graphVersion `boxes` were laid out for. */
  layoutVersion: number;
  layingOut: boolean;
  selected: string | null;
  theme: Theme;
  notices: Notice[];
  recent: string[];
  panel: Panel | null;
  form: FormState;
  formTouched: boolean;
  plan: PlanState;
  apply: ApplyState;
  lastJournalId: string | null;
}

const emptyGraph = buildGraph([]);
const IDLE_APPLY: ApplyState = { status: 'idle', done: 0, total: 0, message: null, result: null, refusals: [] };

function initialTheme(): Theme {
  try {
    const saved = localStorage.getItem('diskchain.theme');
    if (saved === 'light' || saved === 'dark') return saved;
  } catch {
    // Storage refused: fall through.
  }
  return typeof matchMedia === 'function' && matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}

export const useStore = create<State>()(() => ({
  info: null,
  connected: true,
  disks: [],
  loading: [],
  graph: emptyGraph,
  boxes: new Map(),
  graphVersion: 0,
  layoutVersion: 0,
  layingOut: false,
  selected: null,
  theme: initialTheme(),
  notices: [],
  recent: [],
  panel: null,
  form: { driver: 'dac', user: '', group: '', label: '', readonly: false, shareable: false, allowHardLinks: false },
  formTouched: false,
  plan: { status: 'idle', plan: null, error: null, key: '' },
  apply: IDLE_APPLY,
  lastJournalId: null,
}));

const set = useStore.setState;
const get = useStore.getState;

// ---------------------------------------------------------------------------------------------
// Notices

let noticeId = 1;
export function notify(kind: Notice['kind'], text: string): void {
  const id = noticeId++;
  set((s) => ({ notices: [...s.notices.slice(-4), { id, kind, text }] }));
  if (kind === 'info') setTimeout(() => dismiss(id), 6000);
}
export function dismiss(id: number): void {
  set((s) => ({ notices: s.notices.filter((n) => n.id !== id) }));
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

// ---------------------------------------------------------------------------------------------
// Graph

let elk: ElkLike | null = null;
/** The app's ELK runs in a web worker; tests or other hosts may hand in their own. */
export function setElk(e: ElkLike): void {
  elk = e;
}

function setDisks(disks: Disk[]): void {
  const graph = buildGraph(disks);
  const selected = get().selected;
  set((s) => ({
    disks,
    graph,
    graphVersion: s.graphVersion + 1,
    selected: selected && graph.byId.has(selected) ? selected : null,
  }));
  // Files drawn before keep their measured size as the first guess: less jumping on reload.
  const known = new Map([...get().boxes].map(([id, b]) => [id, { width: b.width, height: b.height }]));
  void relayout(known.size ? known : undefined);
}

/** Lay the current graph out; with measured sizes once the browser has drawn the cards. */
export async function relayout(sizes?: Map<string, { width: number; height: number }>): Promise<void> {
  const { graph, graphVersion } = get();
  if (!elk) return;
  set({ layingOut: true });
  try {
    const sizeOf = sizes ? (n: GraphNode) => sizes.get(n.id) ?? { width: NODE_WIDTH, height: estimateHeight(n) } : undefined;
    const boxes = await layoutGraph(graph, elk, sizeOf);
    if (get().graphVersion === graphVersion) set({ boxes, layoutVersion: graphVersion, layingOut: false });
  } catch (e) {
    if (get().graphVersion === graphVersion) set({ layingOut: false });
    notify('error', `the graph could not be laid out: ${message(e)}`);
  }
}

export function select(path: string | null): void {
  set({ selected: path });
}

// ---------------------------------------------------------------------------------------------
// Opening

function mergeDisks(old: Disk[], fresh: Disk[]): Disk[] {
  const out = [...old];
  for (const d of fresh) {
    const i = out.findIndex((x) => x.top === d.top);
    if (i >= 0) out[i] = { ...d, openedAs: out[i]!.openedAs };
    else out.push(d);
  }
  return out;
}

/** The contract takes 64 paths per request: ask in batches. */
async function openInBatches(paths: string[], reload: boolean | undefined): Promise<OpenResult & { folders: string[] }> {
  const out: OpenResult & { folders: string[] } = { disks: [], errors: [], folders: [] };
  for (let i = 0; i < paths.length; i += 64) {
    // Folders come back unopened: they are scanned into the forest.
    const r = await getApi().invoke('open', { paths: paths.slice(i, i + 64), reload, scanFolders: true });
    out.disks.push(...r.disks);
    out.errors.push(...r.errors);
    out.folders.push(...(r.folders ?? []));
  }
  return out;
}

export async function openPaths(paths: string[], opts: { reload?: boolean; quiet?: boolean } = {}): Promise<void> {
  const list = paths.map((p) => p.trim()).filter(Boolean);
  if (!list.length) return;
  set((s) => ({ loading: [...s.loading, ...list] }));
  try {
    const r = await openInBatches(list, opts.reload);
    for (const e of r.errors) notify('error', e.message);
    if (r.disks.length) {
      const before = new Set(get().disks.map((d) => d.top));
      setDisks(mergeDisks(get().disks, r.disks));
      const added = r.disks.find((d) => !before.has(d.top));
      if (added && !opts.quiet) select(added.top);
    }
    for (let i = 0; i < r.folders.length; i += 64) await scanFolders(r.folders.slice(i, i + 64));
    if (!opts.reload) void refreshRecent();
  } catch (e) {
    notify('error', message(e));
  } finally {
    set((s) => {
      const loading = [...s.loading];
      for (const p of list) loading.splice(loading.indexOf(p), 1);
      return { loading };
    });
  }
}

/** Read every open disk again from disk (after a change). */
export async function reloadAll(): Promise<void> {
  const tops = get().disks.map((d) => d.top);
  if (!tops.length) return;
  set((s) => ({ loading: [...s.loading, ...tops] }));
  try {
    const r = await openInBatches(tops, true);
    for (const e of r.errors) notify('error', e.message);
    const fresh = new Map(r.disks.map((d) => [d.top, d]));
    setDisks(get().disks.map((d) => (fresh.has(d.top) ? { ...fresh.get(d.top)!, openedAs: d.openedAs } : d)));
  } catch (e) {
    notify('error', message(e));
  } finally {
    set((s) => ({ loading: s.loading.filter((p) => !tops.includes(p)) }));
  }
}

export function closeDisk(top: string): void {
  const disk = get().disks.find((d) => d.top === top);
  if (!disk) return;
  const rest = get().disks.filter((d) => d.top !== top);
  if (!rest.some((d) => d.openedAs === disk.openedAs)) void getApi().invoke('close', { path: disk.openedAs }).catch(() => undefined);
  if (get().panel?.top === top) closePanel();
  setDisks(rest);
}

export async function refreshRecent(): Promise<void> {
  try {
    const r = await getApi().invoke('recent', {});
    set({ recent: r.paths });
  } catch {
    // Recent files are a convenience.
  }
}

export async function openDialog(kind: 'image' | 'folder'): Promise<void> {
  try {
    const r = await getApi().invoke('dialog', { kind });
    if (r.paths.length) await openPaths(r.paths);
  } catch (e) {
    notify('error', message(e));
  }
}

// ---------------------------------------------------------------------------------------------
// Relabel / restore

/**
 * The form as a profile, or why not: a typed field's problem goes in `fields` (shown by that
 * field), anything else in `error` (null when every problem has its field).
 */
export function profileOf(form: FormState): { profile: ProfileInput | null; error: string | null; fields: Partial<Record<ProfileField, string>> } {
  const candidate = {
    drivers: form.driver.split(',') as ProfileInput['drivers'],
    user: form.user.trim(),
    group: form.group.trim(),
    imageLabel: form.label.trim() || undefined,
    readonly: form.readonly,
    shareable: form.shareable,
    allowHardLinks: form.allowHardLinks || undefined,
  };
  const r = ProfileInputSchema.safeParse(candidate);
  if (r.success) return { profile: r.data, error: null, fields: {} };
  const { fields, rest } = fieldIssues(r.error);
  return { profile: null, error: rest.length ? describeIssues({ issues: rest }) : null, fields };
}

function keyOf(s: Pick<State, 'panel' | 'form'>): string {
  // A domain's profile does not depend on the form: typing there does not outdate its plan.
  return JSON.stringify([s.panel?.action, s.panel?.top, s.panel?.domain ?? s.form]);
}

function planKey(): string {
  return keyOf(get());
}

let planTimer: ReturnType<typeof setTimeout> | null = null;

/** Ask for a fresh preview (debounced while typing); Apply waits for it. */
export function requestPlan(delay = 250): void {
  const key = planKey();
  set((s) => ({ plan: { ...s.plan, status: 'pending', key } }));
  if (planTimer) clearTimeout(planTimer);
  planTimer = setTimeout(() => void fetchPlan(key), delay);
}

async function fetchPlan(key: string): Promise<void> {
  const { panel, form } = get();
  if (!panel || key !== planKey()) return;
  const { profile, error } = panel.domain ? { profile: undefined, error: null } : profileOf(form);
  if (!panel.domain && !profile) {
    set({ plan: { status: 'error', plan: null, error, key } });
    return;
  }
  const from = panel.domain ? { domain: panel.domain } : { profile: profile! };
  try {
    if (panel.action === 'access') {
      const who = from.profile ? { profile: { user: from.profile.user, group: from.profile.group, readonly: from.profile.readonly, shareable: from.profile.shareable } } : from;
      const r = await getApi().invoke('access', { top: panel.top, ...who });
      if (planKey() === key) set({ plan: { status: 'ready', plan: r.plan, error: null, key, access: r.report } });
      return;
    }
    const plan = await getApi().invoke('plan', { action: panel.action, top: panel.top, ...from });
    if (planKey() === key) set({ plan: { status: 'ready', plan, error: null, key } });
  } catch (e) {
    if (planKey() === key) set({ plan: { status: 'error', plan: null, error: message(e), key } });
  }
}

export function openPanel(action: PanelAction, opts: { domain?: string | null } = {}): void {
  const s = get();
  const inForest = useForest.getState().view === 'forest';
  const top = inForest
    ? forestTop()
    : s.panel?.top && s.disks.some((d) => d.top === s.panel!.top) ? s.panel.top : diskFor(s.graph, s.selected, s.disks);
  if (!top) {
    notify('error', inForest ? 'select a disk in the forest first (an image nothing else uses, or a base to act on its first user)' : 'open a disk first');
    return;
  }
  const form = s.formTouched || !s.info ? s.form : {
    ...s.form,
    user: s.form.user || s.info.defaultUser,
    group: s.form.group || s.info.defaultGroup,
    driver: s.info.selinux ? ('dac,selinux' as const) : ('dac' as const),
  };
  const domain = opts.domain !== undefined ? opts.domain : s.panel?.domain ?? null;
  set({ panel: { action, top, domain }, form, apply: IDLE_APPLY });
  requestPlan(0);
}

/** Plan with the open domain's profile (an id), or with the form (null). */
export function setPanelDomain(domain: string | null): void {
  const p = get().panel;
  if (!p) return;
  set({ panel: { ...p, domain }, apply: IDLE_APPLY });
  requestPlan(0);
}

export function closePanel(): void {
  if (planTimer) clearTimeout(planTimer);
  set({ panel: null, plan: { status: 'idle', plan: null, error: null, key: '' } });
}

export function setPanelTop(top: string): void {
  const p = get().panel;
  if (!p) return;
  set({ panel: { ...p, top }, apply: IDLE_APPLY });
  requestPlan(0);
}

export function setAction(action: PanelAction): void {
  const p = get().panel;
  if (!p) return;
  set({ panel: { ...p, action }, apply: IDLE_APPLY });
  requestPlan(0);
}

export function updateForm(patch: Partial<FormState>): void {
  set((s) => ({ form: { ...s.form, ...patch }, formTouched: true, apply: s.apply.status === 'running' ? s.apply : IDLE_APPLY }));
  requestPlan();
}

/**
 * True when Apply may run: a current preview, no refusals, something to change, and not just
 * applied (applying again would be a second VM taking the disk: change the form, or reopen it).
 */
export function canApply(s: State): boolean {
  const p = s.plan;
  return (
    !!s.panel &&
    s.apply.status !== 'running' &&
    s.apply.status !== 'done' &&
    p.status === 'ready' &&
    !!p.plan &&
    p.key === keyOf(s) &&
    p.plan.refusals.length === 0 &&
    changeCount(p.plan) > 0
  );
}

/** Files and folders the plan changes. */
export function changeCount(plan: Plan): number {
  return plan.entries.filter((e) => e.changes.length > 0).length + (plan.access?.folders.filter((f) => f.changes.length > 0).length ?? 0);
}

export async function applyCurrent(): Promise<void> {
  const s = get();
  if (!canApply(s) || !s.plan.plan) return;
  const plan = s.plan.plan;
  const total = changeCount(plan);
  set({ apply: { ...IDLE_APPLY, status: 'running', total } });
  try {
    const result = await getApi().invoke('apply', { planId: plan.id });
    await reloadAll();
    if (result.ok === false) {
      set({ apply: failed(result, 'nothing was changed') });
    } else {
      const what = plan.access ? 'Access fixed' : plan.action === 'relabel' ? 'Relabeled' : 'Restored';
      set({
        lastJournalId: result.journalId || get().lastJournalId,
        apply: { ...IDLE_APPLY, status: 'done', done: total, total, result, message: `${what}: ${files(result.changed)} changed.`, refusals: result.conflicts ?? [] },
      });
    }
  } catch (e) {
    set({ apply: { ...IDLE_APPLY, status: 'error', total, message: message(e) } });
    await reloadAll();
  }
  if (get().panel) requestPlan(0);
}

function files(n: number): string {
  return `${n} file${n === 1 ? '' : 's'}`;
}

function failed(r: ApplyResult, fallback: string): ApplyState {
  const text = r.message ?? fallback;
  const rolled = r.rolledBack ? ' Every file was put back as it was.' : '';
  return { ...IDLE_APPLY, status: 'error', result: r, message: `${text[0]!.toUpperCase()}${text.slice(1)}.${rolled}`.replace(/\.\./g, '.'), refusals: [...(r.refusals ?? []), ...(r.conflicts ?? [])] };
}

export async function undoLast(): Promise<void> {
  const id = get().lastJournalId;
  if (!id) return;
  set({ apply: { ...IDLE_APPLY, status: 'running' } });
  try {
    const r = await getApi().invoke('undo', { journalId: id });
    await reloadAll();
    if (r.ok === false) {
      set({ apply: failed(r, 'the change could not be undone') });
      notify('error', r.message ?? 'the change could not be undone');
    } else {
      const text = `Undone: ${files(r.changed)} back as before.`;
      set({ lastJournalId: null, apply: { ...IDLE_APPLY, status: 'done', result: r, message: text, refusals: r.conflicts ?? [] } });
      notify('info', text);
    }
  } catch (e) {
    set({ apply: { ...IDLE_APPLY, status: 'error', message: message(e) } });
    notify('error', message(e));
  }
  if (get().panel) requestPlan(0);
}

// ---------------------------------------------------------------------------------------------
// Theme, commands, start-up

export function setTheme(theme: Theme): void {
  set({ theme });
  try {
    localStorage.setItem('diskchain.theme', theme);
  } catch {
    // Not remembered; still applied.
  }
}

export function toggleTheme(): void {
  setTheme(get().theme === 'dark' ? 'light' : 'dark');
}

export function focusOpenPath(): void {
  document.querySelector<HTMLInputElement>('[data-testid="open-path"]')?.focus();
}

export function runCommand(name: Command): void {
  switch (name) {
    case 'open-image': void openDialog('image'); break;
    case 'open-folder': void openDialog('folder'); break;
    case 'reload': void reloadAll(); break;
    case 'relabel':
    case 'restore': openPanel(name); break;
    case 'undo': void undoLast(); break;
    case 'toggle-theme': toggleTheme(); break;
    case 'focus-open': focusOpenPath(); break;
    case 'open-domain': showDomainDialog(true); break;
  }
}

export async function start(): Promise<void> {
  const api = getApi();
  api.on('open-paths', (d) => void openPaths(d.paths));
  api.on('progress', (d) => {
    const a = get().apply;
    if (a.status === 'running') set({ apply: { ...a, done: d.done, total: d.total } });
  });
  api.on('command', (d) => runCommand(d.name));
  api.on('scan-progress', onScanProgress);
  api.on('forest-delta', applyDelta);
  const statusApi = api as { onStatus?: (fn: (up: boolean) => void) => void };
  statusApi.onStatus?.((up) => set({ connected: up }));
  try {
    const info = await api.invoke('info', {});
    set({ info, lastJournalId: info.lastJournalId });
    for (const n of info.notices) notify('info', n);
    void refreshRecent();
    if (info.opened.length) await openPaths(info.opened, { reload: true });
  } catch (e) {
    notify('error', message(e));
  }
}
