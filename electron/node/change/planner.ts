// The relabel planner as the change engine's users see it: access fixes relabel the files they
// must, with libvirt's rules, without importing the relabel module (the caller hands it in).
import type { ChainNode } from '../../../shared/model.js';
import type { Action, Plan, VmProfile } from '../../../shared/plan.js';
import type { RawChange } from './state.js';

export interface PlanWithChanges {
  plan: Plan;
  /** The byte-exact changes behind the plan's entries (never sent to the renderer). */
  changes: RawChange[];
}

export interface PlanOptions {
  /** Use this boot time instead of this process's (the helper adopts the preview's, see bootTimeFor). */
  bootTime?: string;
  /** Inspect with this instead of the chain resolver (tests). */
  resolve?: (topPath: string) => ChainNode;
  /** Keep this plan id (the helper's re-plan). */
  id?: string;
}

/** relabel/plan.ts planChangesDetailed's shape. */
export type RelabelPlanner = (action: Action, topPaths: string[], profile: VmProfile, opts?: PlanOptions) => PlanWithChanges;
