// How qemu and libvirt turn a name stored in a header into something to open.
// Both join a relative name to the naming image's folder as plain text, with no normalisation;
// only the kernel resolves `..` and symlinks, later, when the file is opened.
import type { BackingSource, NameInfo } from '../../../shared/model.js';
import { tryParseBacking } from './backing/index.js';

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

/** What a name libvirt reads as `source` is to diskchain: a file to follow, or a node never opened. */
function kindOf(source: BackingSource): NameInfo['kind'] {
  if (source.type === 'network') return 'network';
  return source.type === 'file' || source.type === 'block' ? 'file' : 'protocol';
}

/**
 * Describe a child name read from `parentJoined` / `parentQemu` (the parent's two paths).
 * `libvirt`: read it with libvirt's backing parser (backing and data files; not vmdk extents,
 * which qemu always opens as plain files).
 */
export function describeName(raw: Buffer, text: string, parentJoined: string, parentQemu: string, libvirt = true): NameInfo {
  const info: NameInfo = { rawHex: raw.toString('hex'), qemuPath: qemuJoin(parentQemu, text), joined: text, kind: nameKind(text) };
  if (info.kind === 'file') {
    info.joined = libvirtJoin(parentJoined, text);
    if (libvirt) info.source = { type: 'file', path: info.joined };
    return info;
  }
  if (!libvirt) return info;
  const parsed = tryParseBacking(text);
  if ('error' in parsed) {
    info.sourceError = parsed.error;
    return info;
  }
  const src = parsed.source;
  if (parsed.inlineAuth) info.inlineAuth = true;
  if ((src.type === 'file' || src.type === 'block') && !src.path?.startsWith('/')) {
    // libvirt would open it against its daemon's working folder, not the image's.
    info.sourceError = `the json: name gives the relative path '${src.path ?? ''}': libvirt opens it from its own working folder, not the image's`;
    return info;
  }
  info.source = src;
  info.kind = kindOf(src);
  if (info.kind === 'file') info.joined = src.path!;
  return info;
}

/** Paths never opened whatever a header says: reading them can block or has side effects. */
const UNSAFE_ROOTS = /^\/(?:proc|sys|dev)(?:\/|$)/;

export function isUnsafePath(realPath: string): boolean {
  return UNSAFE_ROOTS.test(realPath);
}
