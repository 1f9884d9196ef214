// The relabel / restore / access panel: which action on which top, the form with its live
// preview (plan), and the apply / undo lifecycle. Above disks, forest and open: opening the
// panel picks its top from either view, applying reads the disks again, closing a disk closes
// its panel.
import { create } from 'zustand';
import { ProfileInputSchema, describeIssues, type EventData, type ProfileInput } from '../../shared/ipc.js';
import type { AccessReport } from '../../shared/access.js';
import { fieldIssues, type ProfileField } from '../../shared/rules.js';
import type { Action, ApplyResult, Plan, Refusal } from '../../shared/plan.js';
import { getApi } from '../api.js';
import { diskFor } from '../graph/model.js';
import { setDisks, useDisks } from './disks.js';
import { forestTop, useForest } from './forest.js';
import { useHost } from './host.js';
import { errorText, notify } from './notices.js';
import { reloadAll } from './open.js';

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
  /** While the helper changes files: the file just done, and files per second so far. */
  path?: string;
  rate?: number;
  message: string | null;
  result: ApplyResult | null;
  /** Why nothing was changed, file by file (or which files were left alone). */
  refusals: Refusal[];
  /** The plan just applied: the panel shows what was done, not the next run's preview. */
  applied?: Plan | null;
  /** The last change was undone: the same action may be applied again at once. */
  undone?: boolean;
}

export interface PanelState {
  panel: Panel | null;
  form: FormState;
  formTouched: boolean;
  plan: PlanState;
  apply: ApplyState;
  lastJournalId: string | null;
}

const IDLE_APPLY: ApplyState = { status: 'idle', done: 0, total: 0, message: null, result: null, refusals: [] };

export const usePanel = create<PanelState>()(() => ({
  panel: null,
  form: { driver: 'dac', user: '', group: '', label: '', readonly: false, shareable: false, allowHardLinks: false },
  formTouched: false,
  plan: { status: 'idle', plan: null, error: null, key: '' },
  apply: IDLE_APPLY,
  lastJournalId: null,
}));

const set = usePanel.setState;
const get = usePanel.getState;

/**
 * The form as a profile, or why not: a typed field's problem goes in `fields` (shown by that
 * field), anything else in `error` (null when every problem has its field).
 */
export function profileOf(form: FormState): {
  profile: ProfileInput | null;
  error: string | null;
  fields: Partial<Record<ProfileField, string>>;
} {
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

function keyOf(s: Pick<PanelState, 'panel' | 'form'>): string {
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
      const who = from.profile
        ? {
            profile: {
              user: from.profile.user,
              group: from.profile.group,
              readonly: from.profile.readonly,
              shareable: from.profile.shareable,
            },
          }
        : from;
      const r = await getApi().invoke('access', { top: panel.top, ...who });
      if (planKey() === key) set({ plan: { status: 'ready', plan: r.plan, error: null, key, access: r.report } });
      return;
    }
    const plan = await getApi().invoke('plan', { action: panel.action, top: panel.top, ...from });
    if (planKey() === key) set({ plan: { status: 'ready', plan, error: null, key } });
  } catch (e) {
    if (planKey() === key) set({ plan: { status: 'error', plan: null, error: errorText(e), key } });
  }
}

export function openPanel(action: PanelAction, opts: { domain?: string | null; top?: string } = {}): void {
  const s = get();
  const d = useDisks.getState();
  const info = useHost.getState().info;
  const inForest = useForest.getState().view === 'forest';
  const top = opts.top
    ? opts.top
    : inForest
      ? forestTop()
      : s.panel?.top && d.disks.some((x) => x.top === s.panel!.top)
        ? s.panel.top
        : diskFor(d.graph, d.selected, d.disks);
  if (!top) {
    notify(
      'error',
      inForest ? 'select a disk in the forest first (an image nothing else uses, or a base to act on its first user)' : 'open a disk first',
    );
    return;
  }
  const form =
    s.formTouched || !info
      ? s.form
      : {
          ...s.form,
          user: s.form.user || info.defaultUser,
          group: s.form.group || info.defaultGroup,
          driver: info.selinux ? ('dac,selinux' as const) : ('dac' as const),
        };
  const domain = opts.domain !== undefined ? opts.domain : (s.panel?.domain ?? null);
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
export function canApply(s: PanelState): boolean {
  const p = s.plan;
  return (
    !!s.panel &&
    s.apply.status !== 'running' &&
    (s.apply.status !== 'done' || !!s.apply.undone) &&
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
        apply: {
          ...IDLE_APPLY,
          status: 'done',
          done: total,
          total,
          result,
          message: `${what}: ${files(result.changed)} changed.`,
          refusals: result.conflicts ?? [],
          applied: plan,
        },
      });
    }
  } catch (e) {
    set({ apply: { ...IDLE_APPLY, status: 'error', total, message: errorText(e) } });
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
  return {
    ...IDLE_APPLY,
    status: 'error',
    result: r,
    message: `${text[0]!.toUpperCase()}${text.slice(1)}.${rolled}`.replace(/\.\./g, '.'),
    refusals: [...(r.refusals ?? []), ...(r.conflicts ?? [])],
  };
}

export async function undoLast(): Promise<void> {
  const id = get().lastJournalId;
  if (id) await undoJournal(id);
}

/** Revert one journalled change (any of them, not only the last), then read the disks again. */
export async function undoJournal(id: string): Promise<void> {
  set({ apply: { ...IDLE_APPLY, status: 'running' } });
  try {
    const r = await getApi().invoke('undo', { journalId: id });
    await reloadAll();
    if (r.ok === false) {
      set({ apply: failed(r, 'the change could not be undone') });
      notify('error', r.message ?? 'the change could not be undone');
    } else {
      const text = `Undone: ${files(r.changed)} back as before.`;
      set((s) => ({
        lastJournalId: s.lastJournalId === id ? null : s.lastJournalId,
        apply: { ...IDLE_APPLY, status: 'done', result: r, message: text, refusals: r.conflicts ?? [], undone: true },
      }));
      notify('info', text);
    }
  } catch (e) {
    set({ apply: { ...IDLE_APPLY, status: 'error', message: errorText(e) } });
    notify('error', errorText(e));
  }
  if (get().panel) requestPlan(0);
}

/** Progress of the plan being applied (the owning process's event). */
export function onApplyProgress(d: EventData<'progress'>): void {
  const a = get().apply;
  if (a.status === 'running')
    set({
      apply: {
        ...a,
        done: d.done,
        total: d.total,
        ...(d.path !== undefined ? { path: d.path } : {}),
        ...(d.rate !== undefined ? { rate: d.rate } : {}),
      },
    });
}

/**
 * Close an open disk (and the panel acting on it). The owning process forgets the path once no
 * other open disk came from it; if it cannot be told, the user hears so, since it still counts
 * the path as opened for changes.
 */
export function closeDisk(top: string): void {
  const { disks } = useDisks.getState();
  const disk = disks.find((d) => d.top === top);
  if (!disk) return;
  const rest = disks.filter((d) => d.top !== top);
  if (!rest.some((d) => d.openedAs === disk.openedAs)) {
    void getApi()
      .invoke('close', { path: disk.openedAs })
      .catch((e: unknown) => notify('error', `${disk.openedAs} could not be closed: ${errorText(e)}`));
  }
  if (get().panel?.top === top) closePanel();
  setDisks(rest);
}

/**
 * Count the folders a refused plan names as opened (the owning process checks each with the
 * consent rules: system folders never pass), then preview again.
 */
export async function allowFolders(folders: string[]): Promise<void> {
  try {
    const r = await getApi().invoke('allowFolders', { folders });
    for (const x of r.refused) notify('error', `${x.path} ${x.message}`);
  } catch (e) {
    notify('error', errorText(e));
  }
  if (get().panel) requestPlan(0);
}
