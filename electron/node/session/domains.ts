// The libvirt domains this session opened: kept by id so Relabel and the access check use the
// profile resolved here (never one the renderer states), and only for the domain's own disks.
import { randomBytes } from 'node:crypto';
import type { AccessProfile } from '../../../shared/access.js';
import { diskTop, type DomainReport } from '../../../shared/domain.js';
import { ContractError, type DomainRes, type ParsedReq } from '../../../shared/ipc.js';
import type { VmProfile } from '../../../shared/plan.js';
import { userPath } from './user-path.js';
import type { InspectWorker } from './worker.js';
import type { DomainInput } from './worker-contract.js';

/** Domains kept open (for Relabel with their profile), oldest dropped first. */
const MAX_DOMAINS = 16;

interface OpenDomain {
  input: DomainInput;
  report: DomainReport;
}

export class Domains {
  private readonly open = new Map<string, OpenDomain>();

  constructor(private readonly worker: InspectWorker) {}

  /** Open a domain from a file, its text or virsh, or read one already open (`reopen`) again. */
  async read(req: ParsedReq<'domain'>): Promise<DomainRes> {
    const again = req.reopen ? this.get(req.reopen) : null;
    const input =
      again?.input ??
      (req.file !== undefined ? { file: userPath(req.file) } : req.text !== undefined ? { text: req.text } : { virshName: req.virsh! });
    const { report } = await this.worker.call('domain', input);
    const id = req.reopen ?? `domain-${randomBytes(8).toString('hex')}`;
    this.open.delete(id);
    this.open.set(id, { input, report });
    while (this.open.size > MAX_DOMAINS) this.open.delete(this.open.keys().next().value!);
    return { ...report, id };
  }

  /** The profile libvirt would use for disk `top` of domain `id`, as resolved here. */
  profile(id: string, top: string): VmProfile {
    return this.resolved(this.get(id, top));
  }

  /** Who the access check of disk `top` is for: the domain's user, and how it uses that disk. */
  accessProfile(id: string, top: string): AccessProfile {
    const dom = this.get(id, top);
    const p = this.resolved(dom);
    const disk = dom.report.disks.find((d) => diskTop(d) === top);
    return {
      user: p.user,
      group: p.group,
      readonly: disk?.readonly ?? false,
      shareable: disk?.shareable ?? false,
      ...(p.imageLabel ? { imageLabel: p.imageLabel } : {}),
    };
  }

  private get(id: string, top?: string): OpenDomain {
    const d = this.open.get(id);
    if (!d) throw new ContractError('this domain is no longer open; open it again');
    // A domain's profile and folders serve its own disks only.
    if (top !== undefined && !d.report.disks.some((k) => diskTop(k) === top)) {
      throw new ContractError(`${top} is not a disk of domain ${d.report.name ?? id}`);
    }
    return d;
  }

  private resolved(d: OpenDomain): VmProfile {
    if (!d.report.profile)
      throw new ContractError(`the domain's profile could not be resolved: ${d.report.profileError ?? 'unknown reason'}`);
    return d.report.profile.profile;
  }
}
