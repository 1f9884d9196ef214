// The file work behind the domain and access requests: read a domain XML and compare its disks
// with their headers, check what stops the VM's user, and preview the fix. Runs in the
// inspection worker like ops.ts; takes and returns plain JSON.
import * as path from 'node:path';
import type { AccessProfile, AccessReport } from '../../shared/access.js';
import type { DomainReport } from '../../shared/domain.js';
import type { Plan } from '../../shared/plan.js';
import { planAccessFixDetailed } from '../access/index.js';
import { inspect } from '../core/chain.js';
import { blockdevArgs, blockdevNodes, diskXml, openDomain, type OpenDomainInput } from '../libvirt/index.js';

export type DomainInput = Pick<OpenDomainInput, 'file' | 'text' | 'virshName'>;

/** The domain's report, and the folders it names files in. */
export async function domain(input: DomainInput): Promise<{ report: DomainReport; folders: string[] }> {
  const report = await openDomain(input);
  return { report, folders: domainFolders(report) };
}

/**
 * Every folder the domain XML itself names files in (each level's source and data store): the
 * user opened those by opening the domain, so Relabel may change them. Not the folders the
 * headers lead to: an image naming a data file in ~/.ssh must not open ~/.ssh for changes.
 */
export function domainFolders(report: DomainReport): string[] {
  const out = new Set<string>();
  for (const d of report.disks) {
    for (const l of d.xmlChain) {
      if (d.type === 'file' && l.path) out.add(path.dirname(l.path));
      if (l.dataStore?.path && l.dataStore.type === 'file') out.add(path.dirname(l.dataStore.path));
    }
  }
  return [...out];
}

export interface AccessResult {
  report: AccessReport;
  /** The previewed fix; null when nothing blocks. */
  plan: Plan | null;
}

/** Check the chain at `top` for the VM's user, and preview the fix when something blocks. */
export function access(top: string, profile: AccessProfile): AccessResult {
  const { plan, report } = planAccessFixDetailed(top, profile);
  return { report, plan: report.ok ? null : plan };
}

/** The chain of `top`, read again now, as libvirt's <disk> XML or qemu's -blockdev arguments. */
export function exportChain(top: string, kind: 'libvirt-xml' | 'blockdev'): { text: string } {
  const root = inspect(top);
  return { text: kind === 'libvirt-xml' ? diskXml(root) : blockdevArgs(blockdevNodes(root)) };
}
