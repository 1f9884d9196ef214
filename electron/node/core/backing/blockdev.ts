// A network source as qemu's -blockdev protocol node (the properties libvirt's
// qemuBlockStorageSourceGetBackendProps writes for each protocol).
import { BackingError, type BackingHost, type BackingSource } from './types.js';

function inet(h: BackingHost): Record<string, unknown> {
  return { type: 'inet', host: h.name ?? '', port: String(h.port ?? 0) };
}

function socketAddress(h: BackingHost): Record<string, unknown> {
  return h.transport === 'unix' ? { type: 'unix', path: h.socket ?? '' } : inet(h);
}

function hostPort(h: BackingHost): string {
  const name = h.name ?? '';
  const host = name.includes(':') && !name.startsWith('[') ? `[${name}]` : name;
  return h.port ? `${host}:${h.port}` : host;
}

/** Split `a/b` at its first (or last) '/'; libvirt keeps gluster/rbd volume and iscsi lun that way. */
function split(name: string, last = false): [string | null, string] {
  const i = last ? name.lastIndexOf('/') : name.indexOf('/');
  return i < 0 ? [null, name] : [name.slice(0, i), name.slice(i + 1)];
}

export function blockdevProps(src: BackingSource): Record<string, unknown> & { driver: string } {
  if (src.type !== 'network' || !src.protocol) throw new BackingError(`a ${src.type} source has no network node`);
  const hosts = src.hosts ?? [];
  const first = hosts[0];
  const name = src.name ?? '';
  const need = () => {
    if (!first) throw new BackingError(`a ${src.protocol} source without a host`);
    return first;
  };
  switch (src.protocol) {
    case 'nbd':
      return { driver: 'nbd', server: socketAddress(need()), ...(src.name !== undefined ? { export: src.name } : {}) };
    case 'gluster': {
      const [volume, path] = split(name);
      return { driver: 'gluster', volume: volume ?? '', path, server: hosts.map(socketAddress) };
    }
    case 'rbd': {
      const [pool, image] = split(name);
      return {
        driver: 'rbd',
        ...(pool !== null ? { pool } : {}),
        image,
        ...(src.snapshot !== undefined ? { snapshot: src.snapshot } : {}),
        ...(src.config !== undefined ? { conf: src.config } : {}),
        ...(hosts.length ? { server: hosts.map((h) => ({ host: h.name ?? '', port: String(h.port ?? 6789) })) } : {}),
      };
    }
    case 'iscsi': {
      const [target, lun] = split(name, true);
      return { driver: 'iscsi', portal: hostPort(need()), target: target ?? name, lun: Number(lun) || 0, transport: 'tcp' };
    }
    case 'http':
    case 'https':
    case 'ftp':
    case 'ftps':
    case 'tftp': {
      const url = `${src.protocol}://${hostPort(need())}/${encodeURI(name)}${src.query !== undefined ? `?${src.query}` : ''}`;
      return {
        driver: src.protocol,
        url,
        ...(src.sslVerify !== undefined ? { sslverify: src.sslVerify } : {}),
        ...(src.cookies?.length ? { cookie: src.cookies.map((c) => `${c.name}=${c.value}`).join('; ') } : {}),
        ...(src.readahead !== undefined ? { readahead: src.readahead } : {}),
        ...(src.timeout !== undefined ? { timeout: src.timeout } : {}),
      };
    }
    case 'ssh':
      return { driver: 'ssh', path: name, server: { host: need().name ?? '', port: String(need().port ?? 22) } };
    case 'nfs': {
      const id = (v: string) => Number(v.replace(/^\+/, ''));
      return {
        driver: 'nfs',
        server: { type: 'inet', host: need().name ?? '' },
        path: name,
        ...(src.identity ? { user: id(src.identity.user), group: id(src.identity.group) } : {}),
      };
    }
    case 'sheepdog':
      return { driver: 'sheepdog', vdi: name, server: inet(need()) };
    case 'vxhs':
      return { driver: 'vxhs', 'vdisk-id': name, server: { host: need().name ?? '', port: String(need().port ?? 9999) } };
    default:
      throw new BackingError(`no -blockdev node for protocol ${src.protocol}`);
  }
}
