// The files of one disk as libvirt labels them: each layer, its vmdk extents and its data file,
// top first. No recursion: chains can be thousands deep.
import type { ChainNode } from '../../../shared/model.js';

export interface DiskFile {
  node: ChainNode;
  top: boolean;
  /** For a vmdk extent file: its descriptor, whose role, label and consent it shares. */
  extentOf?: ChainNode;
}

/**
 * The files of one disk in display order: top, its extent files and data file, then each
 * backing with its own.
 */
export function diskFiles(root: ChainNode): DiskFile[] {
  const out: DiskFile[] = [];
  const seen = new Set<ChainNode>();
  for (let n: ChainNode | null = root; n && !seen.has(n); n = n.backing) {
    seen.add(n);
    const top = n === root;
    out.push({ node: n, top });
    for (const e of n.extents ?? []) out.push({ node: e, top, extentOf: n });
    if (n.dataFile) out.push({ node: n.dataFile, top });
  }
  return out;
}
