// libvirt's storage pools as libvirtd keeps them (/etc/libvirt/storage/NAME.xml, written by
// `virsh pool-define`): their target folders hold VM images, so they are allowed roots without
// the user naming them. Read from the files root owns rather than from virsh, which would need a
// running daemon and trusts its connection URI to the environment.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { attr, child, parseXml, text } from './xml.js';

export const LIBVIRT_POOL_DIR = '/etc/libvirt/storage';
/** Pool types whose target is a folder of image files on this host. */
const FOLDER_POOLS = new Set(['dir', 'fs', 'netfs']);
const MAX_POOLS = 1024;
const MAX_POOL_XML = 256 * 1024;

/** The target folders of libvirt's folder-backed pools, from files owned by root only. */
export function libvirtPoolTargets(dir = LIBVIRT_POOL_DIR): string[] {
  let names: string[];
  try {
    const st = fs.lstatSync(dir);
    if (!st.isDirectory() || st.uid !== 0 || st.mode & 0o022) return [];
    names = fs
      .readdirSync(dir)
      .filter((n) => n.endsWith('.xml'))
      .sort()
      .slice(0, MAX_POOLS);
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const name of names) {
    const file = path.join(dir, name);
    try {
      const st = fs.lstatSync(file);
      if (!st.isFile() || st.uid !== 0 || st.mode & 0o022 || st.size > MAX_POOL_XML) continue;
      const { name: rootName, root } = parseXml(fs.readFileSync(file, 'utf8'), file);
      if (rootName !== 'pool' || !FOLDER_POOLS.has(attr(root, 'type') ?? '')) continue;
      const target = text(child(child(root, 'target'), 'path'))?.trim();
      if (target && path.isAbsolute(target)) out.push(path.normalize(target));
    } catch {
      /* a pool file that does not parse names no folder */
    }
  }
  return out;
}
