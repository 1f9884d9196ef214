// libvirt's URI form (virStorageSourceParseBackingURI over libxml2's URI parser):
// `PROTO[+TRANSPORT]://[user@]host[:port][/path][?query]`. The path is percent-decoded and loses
// one leading '/'; a gluster path is VOLUME/PATH; `?socket=` names a unix socket; only http(s)
// keep the query; inline credentials are dropped (libvirt's return value 1).
import { BackingError, PROTOCOLS, parsePort, type BackingHost, type Parsed } from './types.js';

interface Uri {
  scheme: string;
  user: string | null;
  server: string | null;
  port: number;
  path: string | null;
  query: string | null;
}

function decode(s: string, whole: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new BackingError(`failed to parse backing file location '${whole}'`);
  }
}

/** A small RFC 3986 reader: enough for the server-based URIs libvirt's backing names use. */
export function parseUri(text: string): Uri {
  const bad = () => new BackingError(`failed to parse backing file location '${text}'`);
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):(.*)$/s.exec(text);
  if (!m) throw bad();
  let rest = m[2]!;
  const hash = rest.indexOf('#');
  if (hash >= 0) rest = rest.slice(0, hash);
  let query: string | null = null;
  const q = rest.indexOf('?');
  if (q >= 0) {
    query = rest.slice(q + 1);
    rest = rest.slice(0, q);
  }
  let user: string | null = null;
  let server: string | null = null;
  let port = 0;
  if (rest.startsWith('//')) {
    const slash = rest.indexOf('/', 2);
    let auth = slash < 0 ? rest.slice(2) : rest.slice(2, slash);
    rest = slash < 0 ? '' : rest.slice(slash);
    const at = auth.lastIndexOf('@');
    if (at >= 0) {
      user = decode(auth.slice(0, at), text);
      auth = auth.slice(at + 1);
    }
    let portText: string | null = null;
    if (auth.startsWith('[')) {
      const end = auth.indexOf(']');
      if (end < 0) throw bad();
      server = auth.slice(1, end);
      const after = auth.slice(end + 1);
      if (after !== '' && !after.startsWith(':')) throw bad();
      if (after.startsWith(':')) portText = after.slice(1);
    } else {
      const colon = auth.indexOf(':');
      server = colon < 0 ? auth : auth.slice(0, colon);
      if (colon >= 0) portText = auth.slice(colon + 1);
      server = decode(server, text);
    }
    if (portText !== null && portText !== '') {
      if (!/^\d+$/.test(portText)) throw bad();
      port = parsePort(portText);
    }
    if (server === '') server = null;
  }
  if (/\s/.test(text)) throw bad();
  return { scheme: m[1]!, user, server, port, path: rest === '' ? null : decode(rest, text), query };
}

const TRANSPORTS = new Set(['tcp', 'unix', 'rdma']);

export function parseUriName(text: string): Parsed {
  const uri = parseUri(text);
  const plus = uri.scheme.indexOf('+');
  const protocol = plus < 0 ? uri.scheme : uri.scheme.slice(0, plus);
  const transport = plus < 0 ? 'tcp' : uri.scheme.slice(plus + 1);
  if (!PROTOCOLS.has(protocol)) throw new BackingError(`invalid backing protocol '${protocol}'`);
  if (!TRANSPORTS.has(transport)) throw new BackingError(`invalid protocol transport type '${transport}'`);
  const host: BackingHost = { transport: transport as BackingHost['transport'] };
  const src: Parsed['source'] = { type: 'network', protocol, hosts: [host] };
  if (uri.query !== null) {
    if (protocol === 'http' || protocol === 'https') src.query = uri.query;
    else if (uri.query.startsWith('socket=')) host.socket = uri.query.slice('socket='.length);
  }
  let path = uri.path ?? '';
  if (path.startsWith('/')) path = path.slice(1);
  if (!(protocol === 'nbd' && path === '')) src.name = path;
  if (protocol === 'gluster') {
    const slash = path.indexOf('/');
    if (path === '') throw new BackingError('missing volume name and path for gluster volume');
    if (slash <= 0) throw new BackingError(`missing volume name or file name in gluster source path '${path}'`);
  }
  if (uri.port) host.port = uri.port;
  if (uri.server !== null) host.name = uri.server;
  return { source: src, inlineAuth: uri.user !== null };
}
