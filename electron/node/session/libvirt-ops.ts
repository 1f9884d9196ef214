// The file work behind the domain and access requests: read a domain XML and compare its disks
// with their headers, check what stops the VM's user, and preview the fix. Runs in the
// inspection worker like ops.ts; takes and returns plain JSON.
import type { AccessProfile } from '../../../shared/access.js';
import type { DomainReport } from '../../../shared/domain.js';
import { planAccessFixDetailed } from '../helper/api.js';
import { inspect } from '../core/chain.js';
import { blockdevArgs, blockdevNodes, diskXml, openDomain } from '../libvirt/index.js';
import type { ExportOptions } from '../libvirt/export.js';
import type { AccessResult, DomainInput } from './worker-contract.js';

/** The domain's report. */
export async function domain(input: DomainInput): Promise<{ report: DomainReport }> {
  return { report: await openDomain(input) };
}

/** Check the chain at `top` for the VM's user, and preview the fix when something blocks. */
export function access(top: string, profile: AccessProfile): AccessResult {
  const { plan, report } = planAccessFixDetailed(top, profile);
  return { report, plan: report.ok ? null : plan };
}

/** The chain of `top`, read again now, as libvirt's <disk> XML or qemu's -blockdev arguments. */
export function exportChain(top: string, kind: 'libvirt-xml' | 'blockdev', opts: ExportOptions): { text: string } {
  const root = inspect(top);
  return { text: kind === 'libvirt-xml' ? diskXml(root, opts) : blockdevArgs(blockdevNodes(root, opts)) };
}
