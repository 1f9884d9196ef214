// How qemu and libvirt turn a name stored in a header into something to open.
// Both join a relative name to the naming image's folder as plain text, with no normalisation;
// only the kernel resolves `..` and symlinks, later, when the file is opened.
import type { NameInfo } from '../../../shared/model.js';

/** Protocols that reach over the network; every other `proto:` name is a local protocol. */
const NETWORK_PROTOCOLS = new Set([
  'nbd',
  'nbd+tcp',
  'nbd+unix',
  'http',
  'https',
  'ftp',
  'ftps',
  'gluster',
  'gluster+tcp',
  'gluster+unix',
  'gluster+rdma',
  'rbd',
  'iscsi',
  'iser',
  'ssh',
  'nfs',
  'sheepdog',
  'vxhs',
  'tftp',
]);

/** qemu's path_has_protocol: a ':' before any '/'. */
export function protocolOf(name: string): string | null {
  const colon = name.indexOf(':');
  if (colon < 0) return null;
  const slash = name.indexOf('/');
  if (slash >= 0 && slash < colon) return null;
  return name.slice(0, colon);
}

export function nameKind(name: string): NameInfo['kind'] {
  const proto = protocolOf(name);
  if (proto === null) return 'file';
  return NETWORK_PROTOCOLS.has(proto.toLowerCase()) ? 'network' : 'protocol';
}

/**
 * qemu's full-backing-filename: absolute and protocol names as they are, otherwise the text
 * of the naming image's filename up to its last '/' followed by the name.
 */
export function qemuJoin(parentFilename: string, name: string): string {
  if (name.startsWith('/') || protocolOf(name) !== null) return name;
  const slash = parentFilename.lastIndexOf('/');
  return slash < 0 ? name : parentFilename.slice(0, slash + 1) + name;
}

/** libvirt's virStorageSourceNewFromBackingRelative: dirname(parent) + "/" + name. */
export function libvirtJoin(parentPath: string, name: string): string {
  if (name.startsWith('/')) return name;
  const slash = parentPath.lastIndexOf('/');
  const dir = slash < 0 ? '.' : slash === 0 ? '' : parentPath.slice(0, slash);
  return `${dir}/${name}`;
}

/** Describe a child name read from `parentJoined` / `parentQemu` (the parent's two paths). */
export function describeName(raw: Buffer, text: string, parentJoined: string, parentQemu: string): NameInfo {
  const kind = nameKind(text);
  return {
    rawHex: raw.toString('hex'),
    qemuPath: qemuJoin(parentQemu, text),
    joined: kind === 'file' ? libvirtJoin(parentJoined, text) : text,
    kind,
  };
}

/** Paths never opened whatever a header says: reading them can block or has side effects. */
const UNSAFE_ROOTS = ['/proc', '/sys', '/dev'];

export function isUnsafePath(realPath: string): boolean {
  return UNSAFE_ROOTS.some((r) => realPath === r || realPath.startsWith(r + '/'));
}
