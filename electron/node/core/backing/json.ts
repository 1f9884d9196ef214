// libvirt's `json:` form (virStorageSourceParseBackingJSON): the object, deflattened, is either
// the protocol node itself or wrapped in "file"; one parser per qemu driver. "raw" is the only
// format driver libvirt reads (with offset/size, a slice), and only at the top.
import { rbdColon } from './colon.js';
import { deflatten, isObject, parseJsonText, type Json, type JsonObject } from './json-value.js';
import { BackingError, parsePort, tcpHost, type BackingHost, type BackingSource, type Parsed } from './types.js';
import { parseUriName } from './uri.js';

type Driver = (o: JsonObject, whole: string) => Parsed;

/** virJSONValueObjectGetString: only a JSON string counts. */
function str(o: JsonObject, key: string): string | undefined {
  const v = o.get(key);
  return typeof v === 'string' ? v : undefined;
}

function obj(o: JsonObject, key: string): JsonObject | undefined {
  const v = o.get(key);
  return isObject(v) ? v : undefined;
}

/** virJSONValueObjectGetNumberUlong: a JSON number, whole and not negative. */
function ulong(o: JsonObject, key: string, what: string): number {
  const v = o.get(key);
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new BackingError(`malformed '${key}' ${what}`);
  return v;
}

function ok(source: BackingSource, inlineAuth = false): Parsed {
  return { source, inlineAuth };
}

function inetHost(server: Json | undefined): BackingHost {
  if (!isObject(server)) throw new BackingError('missing remote server specification in JSON backing volume definition');
  const host = str(server, 'host');
  if (host === undefined) throw new BackingError('missing hostname for tcp backing server in JSON backing volume definition');
  return tcpHost(host, parsePort(str(server, 'port')));
}

function socketHost(server: Json | undefined): BackingHost {
  if (!isObject(server)) throw new BackingError('missing remote server specification in JSON backing volume definition');
  const type = str(server, 'type');
  if (type === undefined) throw new BackingError('missing socket address type in JSON backing volume definition');
  if (type === 'tcp' || type === 'inet') return inetHost(server);
  if (type !== 'unix') throw new BackingError(`backing store protocol '${type}' is not yet supported`);
  // gluster's old spelling is "socket".
  const socket = str(server, 'path') ?? str(server, 'socket');
  if (socket === undefined) throw new BackingError('missing socket path for udp backing server in JSON backing volume definition');
  return { transport: 'unix', socket };
}

function servers(v: Json | undefined, one: (s: Json | undefined) => BackingHost): BackingHost[] {
  return Array.isArray(v) ? v.map(one) : [];
}

const pathDriver =
  (type: 'file' | 'block'): Driver =>
  (o) => {
    const path = str(o, 'filename');
    if (path === undefined) throw new BackingError("missing 'filename' field in JSON backing volume definition");
    return ok({ type, path });
  };

/** A URI given inside JSON must name the driver's own protocol. */
function uriOf(uri: string, protocol: string): Parsed {
  const p = parseUriName(uri);
  if (p.source.protocol !== protocol)
    throw new BackingError(`expected protocol '${protocol}' but got '${p.source.protocol}' in URI JSON volume definition`);
  return p;
}

const urlDriver =
  (protocol: string): Driver =>
  (o, whole) => {
    const url = str(o, 'url');
    if (url === undefined) throw new BackingError("missing 'url' in JSON backing volume definition");
    const extra: Partial<BackingSource> = {};
    if ((protocol === 'https' || protocol === 'ftps') && o.has('sslverify')) {
      const v = o.get('sslverify');
      // libguestfs still writes the undocumented 'off'.
      if (v === 'off') extra.sslVerify = false;
      else if (typeof v === 'boolean') extra.sslVerify = v;
      else throw new BackingError(`malformed 'sslverify' field in backing store definition '${whole}'`);
    }
    if ((protocol === 'https' || protocol === 'http') && o.has('cookie')) {
      const c = str(o, 'cookie');
      if (c === undefined) throw new BackingError(`wrong format of 'cookie' field in backing store definition '${whole}'`);
      extra.cookies = c.split(';').map((one) => {
        const t = one.replace(/^\s+/, '');
        const eq = t.indexOf('=');
        if (eq < 0) throw new BackingError(`malformed http cookie '${one}' in backing store definition '${whole}'`);
        return { name: t.slice(0, eq), value: t.slice(eq + 1) };
      });
    }
    if (o.has('readahead')) extra.readahead = ulong(o, 'readahead', 'field in backing store definition');
    if (o.has('timeout')) extra.timeout = ulong(o, 'timeout', 'field in backing store definition');
    const p = uriOf(url, protocol);
    return { source: { ...p.source, ...extra }, inlineAuth: p.inlineAuth };
  };

const gluster: Driver = (o) => {
  const uri = str(o, 'filename');
  if (uri !== undefined) return uriOf(uri, 'gluster');
  const volume = str(o, 'volume');
  const path = str(o, 'path');
  const server = o.get('server');
  if (volume === undefined || path === undefined || !Array.isArray(server))
    throw new BackingError("missing 'volume', 'path' or 'server' attribute in JSON backing definition for gluster volume");
  if (server.length === 0) throw new BackingError('at least 1 server is necessary in JSON backing definition for gluster volume');
  return ok({ type: 'network', protocol: 'gluster', name: `${volume}/${path}`, hosts: servers(server, socketHost) });
};

const iscsi: Driver = (o) => {
  const uri = str(o, 'filename');
  if (uri !== undefined) return uriOf(uri, 'iscsi');
  const lunV = o.get('lun');
  const lun = typeof lunV === 'string' || typeof lunV === 'number' ? String(lunV) : '0';
  if (str(o, 'transport') !== 'tcp') throw new BackingError('only TCP transport is supported for iSCSI volumes');
  const portal = str(o, 'portal');
  if (portal === undefined) throw new BackingError("missing 'portal' address in iSCSI backing definition");
  const target = str(o, 'target');
  if (target === undefined) throw new BackingError("missing 'target' in iSCSI backing definition");
  let name = portal;
  let port = 0;
  const colon = portal.lastIndexOf(':');
  if (colon >= 0 && !portal.slice(colon).includes(']')) {
    port = parsePort(portal.slice(colon + 1));
    name = portal.slice(0, colon);
  }
  const auth = str(o, 'user') !== undefined || str(o, 'password') !== undefined;
  return ok({ type: 'network', protocol: 'iscsi', name: `${target}/${lun}`, hosts: [tcpHost(name, port)] }, auth);
};

const nbd: Driver = (o) => {
  const path = str(o, 'path');
  const host = str(o, 'host');
  const server = obj(o, 'server');
  if (path === undefined && host === undefined && !server)
    throw new BackingError('missing host specification of NBD server in JSON backing volume definition');
  const exp = str(o, 'export');
  let h: BackingHost;
  if (server) h = socketHost(server);
  else if (path !== undefined) h = { transport: 'unix', socket: path };
  else h = tcpHost(host, parsePort(str(o, 'port')));
  return ok({ type: 'network', protocol: 'nbd', ...(exp !== undefined ? { name: exp } : {}), hosts: [h] });
};

const sheepdog: Driver = (o) => {
  const filename = str(o, 'filename');
  if (filename !== undefined) {
    if (filename.includes('://')) return uriOf(filename, 'sheepdog');
    throw new BackingError('missing sheepdog URI in JSON backing volume definition');
  }
  const vdi = str(o, 'vdi');
  if (vdi === undefined) throw new BackingError('missing sheepdog vdi name');
  return ok({ type: 'network', protocol: 'sheepdog', name: vdi, hosts: [socketHost(obj(o, 'server'))] });
};

const ssh: Driver = (o) => {
  const path = str(o, 'path');
  const host = str(o, 'host');
  const server = obj(o, 'server');
  if ((host === undefined && !server) || path === undefined)
    throw new BackingError('missing host/server or path of SSH JSON backing volume definition');
  const h = server ? inetHost(server) : tcpHost(host, parsePort(str(o, 'port')));
  return ok({ type: 'network', protocol: 'ssh', name: path, hosts: [h] });
};

const rbd: Driver = (o) => {
  const filename = str(o, 'filename');
  if (filename !== undefined) return ok(rbdColon(filename));
  const pool = str(o, 'pool');
  const image = str(o, 'image');
  if (pool === undefined || image === undefined)
    throw new BackingError('missing pool or image name in ceph backing volume JSON specification');
  const snapshot = str(o, 'snapshot');
  const config = str(o, 'conf');
  const server = o.get('server');
  return ok({
    type: 'network',
    protocol: 'rbd',
    name: `${pool}/${image}`,
    ...(Array.isArray(server) ? { hosts: servers(server, inetHost) } : {}),
    ...(snapshot !== undefined ? { snapshot } : {}),
    ...(config !== undefined ? { config } : {}),
  });
};

const vxhs: Driver = (o) => {
  const id = str(o, 'vdisk-id');
  const server = obj(o, 'server');
  if (id === undefined || !server)
    throw new BackingError("missing 'vdisk-id' or 'server' attribute in JSON backing definition for VxHS volume");
  return ok({ type: 'network', protocol: 'vxhs', name: id, hosts: [inetHost(server)] });
};

const nfs: Driver = (o) => {
  const server = obj(o, 'server');
  if (!server) throw new BackingError("missing 'server' attribute in JSON backing definition for NFS volume");
  const user = o.get('user');
  const group = o.get('group');
  if (!Number.isInteger(user) || !Number.isInteger(group))
    throw new BackingError("missing 'user' or 'group' attribute in JSON backing definition for NFS volume");
  const path = str(o, 'path');
  if (path === undefined) throw new BackingError("missing 'path' attribute in JSON backing definition for NFS volume");
  const sign = (n: number) => (n < 0 ? String(n) : `+${n}`);
  return ok({
    type: 'network',
    protocol: 'nfs',
    name: path,
    hosts: [inetHost(server)],
    identity: { user: sign(user as number), group: sign(group as number) },
  });
};

const nvme: Driver = (o) => {
  const device = str(o, 'device');
  if (device === undefined || !/^[0-9a-fA-F]{4}:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7]$/.test(device))
    throw new BackingError("missing or malformed 'device' field of 'nvme' storage");
  const ns = o.get('namespace');
  if (typeof ns !== 'number' || !Number.isSafeInteger(ns) || ns <= 0)
    throw new BackingError("missing or malformed 'namespace' field of 'nvme' storage");
  return ok({ type: 'nvme', nvme: { device: device.toLowerCase(), namespace: ns } });
};

/** raw, the one format driver: an optional slice over its "file" child, which must be a protocol. */
const raw: Driver = (o, whole) => {
  const slice: NonNullable<BackingSource['slice']> = {};
  if (o.has('offset')) slice.offset = ulong(o, 'offset', "property of 'raw' driver");
  if (o.has('size')) slice.size = ulong(o, 'size', "property of 'raw' driver");
  const file = obj(o, 'file');
  if (!file) throw new BackingError(`JSON backing volume definition '${whole}' lacks 'file' object`);
  const inner = driverOf(file, whole, false);
  if (o.has('offset') || o.has('size')) inner.source.slice = slice;
  return inner;
};

const DRIVERS: Record<string, { format: boolean; parse: Driver }> = {
  file: { format: false, parse: pathDriver('file') },
  host_device: { format: false, parse: pathDriver('block') },
  host_cdrom: { format: false, parse: pathDriver('block') },
  http: { format: false, parse: urlDriver('http') },
  https: { format: false, parse: urlDriver('https') },
  ftp: { format: false, parse: urlDriver('ftp') },
  ftps: { format: false, parse: urlDriver('ftps') },
  tftp: { format: false, parse: urlDriver('tftp') },
  gluster: { format: false, parse: gluster },
  iscsi: { format: false, parse: iscsi },
  nbd: { format: false, parse: nbd },
  sheepdog: { format: false, parse: sheepdog },
  ssh: { format: false, parse: ssh },
  rbd: { format: false, parse: rbd },
  raw: { format: true, parse: raw },
  nfs: { format: false, parse: nfs },
  vxhs: { format: false, parse: vxhs },
  nvme: { format: false, parse: nvme },
};

function driverOf(o: JsonObject, whole: string, allowFormat: boolean): Parsed {
  const name = str(o, 'driver');
  if (name === undefined) throw new BackingError(`JSON backing volume definition '${whole}' lacks driver name`);
  const d = Object.hasOwn(DRIVERS, name) ? DRIVERS[name]! : undefined;
  if (!d) throw new BackingError(`missing parser implementation for JSON backing volume driver '${name}'`);
  if (d.format && !allowFormat) throw new BackingError(`JSON backing volume definition '${whole}' must not have nested format drivers`);
  return d.parse(o, whole);
}

/** The text after `json:`. */
export function parseJsonName(text: string): Parsed {
  const root = parseJsonText(text);
  if (!isObject(root)) throw new BackingError(`JSON backing volume definition '${text}' is not an object`);
  const flat = deflatten(root);
  // {"file":{"driver":...}} and {"driver":...} mean the same: drop the wrapper.
  const node = (!flat.has('driver') ? obj(flat, 'file') : undefined) ?? flat;
  return driverOf(node, text, true);
}
