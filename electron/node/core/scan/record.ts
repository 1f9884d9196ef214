// One file as a scan reads it: its record and the names its header gives. Made by the scan's
// worker threads (or in-thread), so it is plain data that survives JSON (scan/protocol.ts). A name's
// bytes are kept as a latin1 string: a Buffer costs far more memory than its bytes (110,000 of
// them stay in the index), and a view into the header would carry the whole header to the thread.
import type { ChainNode, Owner, Remembered } from '../../../../shared/model.js';
import type { ScannedFile } from '../../../../shared/scan.js';
import { visit, type Pending } from '../chain.js';
import type { ChildName } from '../formats/types.js';

export type Role = 'backing' | 'dataFile';
export const ROLES: readonly Role[] = ['backing', 'dataFile'];

/** A ChildName with its bytes as latin1 text (one char per byte). */
export interface KeptName {
  raw: string;
  format: string | null;
}

export interface FileRecord {
  file: ScannedFile;
  names: Record<Role, KeptName | null>;
}

function keep(n: ChildName | null | undefined): KeptName | null {
  return n ? { raw: n.raw.toString('latin1'), format: n.format } : null;
}

/** The header's name again, as the chain code takes it. */
export function childName(n: KeptName): ChildName {
  return { raw: Buffer.from(n.raw, 'latin1'), format: n.format };
}

function toScanned(node: ChainNode, external: boolean): ScannedFile {
  return {
    path: node.path,
    format: node.format,
    external,
    isImage: node.header !== null && node.format !== 'raw' && node.format !== 'iso',
    virtualSize: node.header?.virtualSize ?? null,
    size: node.stat?.size ?? null,
    allocated: node.stat?.allocated ?? null,
    owner: node.owner,
    selinux: node.selinux,
    remembered: node.remembered,
    backing: null,
    dataFile: null,
    usedBy: [],
    problems: node.problems,
    ...(node.header?.snapshots?.length ? { snapshots: node.header.snapshots.length } : {}),
  };
}

/** Read one file (stat, owner, labels, header) as `visit` does; `file.size` is null when it is gone. */
export function readRecord(p: Pending, dirs: Map<string, string>, external: boolean): FileRecord {
  const { node, parsed } = visit(p, { seen: new Map(), dirs });
  return { file: toScanned(node, external), names: { backing: keep(parsed?.backing), dataFile: keep(parsed?.dataFile) } };
}

/**
 * Shares what thousands of records hold alike (owners, empty labels), so 110,000 files do not
 * hold 110,000 copies of the same few objects. The shared objects are never changed in place.
 */
export class Interner {
  private readonly owners = new Map<string, Owner>();
  private readonly noLabels: Remembered = { dac: null, selinux: null };
  private last: Owner | null = null;

  revive(r: FileRecord): FileRecord {
    const f = r.file;
    if (f.owner) f.owner = this.owner(f.owner);
    if (f.remembered.dac === null && f.remembered.selinux === null) f.remembered = this.noLabels;
    return r;
  }

  private owner(o: Owner): Owner {
    // Files of a pool mostly share one owner: matching the last one builds no key.
    const last = this.last;
    if (last && o.uid === last.uid && o.gid === last.gid && o.mode === last.mode && o.user === last.user && o.group === last.group) {
      return last;
    }
    const key = `${o.uid}:${o.gid}:${o.mode}:${o.user}:${o.group}`;
    const known = this.owners.get(key);
    if (!known) this.owners.set(key, o);
    return (this.last = known ?? o);
  }
}
