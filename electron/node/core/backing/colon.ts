// libvirt's colon forms (virStorageSourceParseBackingColon): `nbd:HOST:PORT[:exportname=X]`,
// `nbd:unix:SOCKET[:exportname=X]` and `rbd:[POOL/]IMAGE[@SNAP][:opt=v...]`. Every other
// known protocol is "malformed" in this form, sheepdog "not implemented".
import { BackingError, PROTOCOLS, parsePort, type BackingHost, type BackingSource } from './types.js';

function nbdColon(text: string): BackingSource {
  const src: BackingSource = { type: 'network', protocol: 'nbd' };
  let rest = text;
  const cut = rest.indexOf(':exportname=');
  if (cut >= 0) {
    src.name = rest.slice(cut + ':exportname='.length);
    rest = rest.slice(0, cut);
  }
  const malformed = () => new BackingError(`malformed nbd string '${text}'`);
  const spec = rest.slice('nbd:'.length);
  if (spec === '') throw malformed();
  let host: BackingHost;
  if (spec.startsWith('unix:')) {
    const socket = spec.slice('unix:'.length);
    if (socket === '') throw malformed();
    host = { transport: 'unix', socket };
  } else {
    let name: string;
    let port: string;
    if (spec.startsWith(':')) throw malformed();
    if (spec.startsWith('[')) {
      const end = spec.indexOf(']:', 1);
      if (end < 0) throw malformed();
      name = spec.slice(1, end);
      port = spec.slice(end + 2);
      if (name === '') throw malformed();
    } else {
      const colon = spec.indexOf(':');
      if (colon < 0) throw malformed();
      name = spec.slice(0, colon);
      port = spec.slice(colon + 1);
    }
    const p = parsePort(port);
    host = { transport: 'tcp', name, ...(p ? { port: p } : {}) };
  }
  src.hosts = [host];
  return src;
}

/** One `mon_host` entry: `host`, `host\:port`, `[v6]\:port`; `\:` inside a name is a colon. */
function rbdHost(spec: string): BackingHost {
  let hostport = spec;
  let port: string | null = null;
  const bracket = hostport.indexOf(']');
  if (bracket >= 0) {
    port = hostport.slice(bracket + 3);
    hostport = hostport.slice(1, bracket);
  } else {
    const at = hostport.indexOf('\\:');
    if (at >= 0) {
      port = hostport.slice(at + 2);
      hostport = hostport.slice(0, at);
    }
  }
  const p = port === null ? 0 : parsePort(port);
  return { transport: 'tcp', name: hostport.split('\\:').join(':'), ...(p ? { port: p } : {}) };
}

/** virStorageSourceParseRBDColonString (also used for rbd's JSON `filename`). */
export function rbdColon(text: string): BackingSource {
  const src: BackingSource = { type: 'network', protocol: 'rbd' };
  let image = text.startsWith('rbd:') ? text.slice(4) : text;
  let options: string | null = null;
  const colon = image.indexOf(':');
  if (colon >= 0) {
    options = image.slice(colon + 1);
    image = image.slice(0, colon);
  }
  const at = image.indexOf('@');
  if (at >= 0) {
    src.snapshot = image.slice(at + 1);
    image = image.slice(0, at);
  }
  src.name = image;
  if (options === null) return src;
  let authSeen = false;
  // Options are split at ':' not preceded by a backslash; a backslash escapes one character.
  let i = 0;
  while (i < options.length) {
    let e = i;
    while (e < options.length && options[e] !== ':') e += options[e] === '\\' ? 2 : 1;
    const opt = options.slice(i, Math.min(e, options.length));
    i = e + 1;
    if (opt.startsWith('id=')) {
      if (authSeen) throw new BackingError(`duplicate 'id' found in '${image}'`);
      authSeen = true;
    }
    if (opt.startsWith('mon_host=')) {
      const hosts = (src.hosts ??= []);
      for (const h of opt.slice('mon_host='.length).split(/\\[,; ]/)) if (h !== '') hosts.push(rbdHost(h));
    }
    if (opt.startsWith('conf=')) src.config = opt.slice('conf='.length);
  }
  return src;
}

export function parseColon(text: string): BackingSource {
  const colon = text.indexOf(':');
  if (colon < 0) throw new BackingError(`invalid backing protocol string '${text}'`);
  const protocol = text.slice(0, colon);
  if (!PROTOCOLS.has(protocol)) throw new BackingError(`invalid backing protocol '${protocol}'`);
  if (protocol === 'nbd') return nbdColon(text);
  if (protocol === 'rbd') return rbdColon(text);
  if (protocol === 'sheepdog') throw new BackingError(`backing store parser is not implemented for protocol ${protocol}`);
  throw new BackingError(`malformed backing store path for protocol ${protocol}`);
}
