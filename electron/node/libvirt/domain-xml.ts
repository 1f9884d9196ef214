// `virsh dumpxml` output → what diskchain needs: each disk with its chain as the XML states it
// (<source>, nested <backingStore>, <dataStore>), its flags and seclabels, and the domain's
// <seclabel>s. Element placement follows libvirt's formatdomain (dataStore since libvirt 10.10).
import type { DomainDisk, XmlDeviceSeclabel, XmlDomainSeclabel, XmlLayer } from '../../../shared/domain.js';
import type { BackingHost, BackingSource } from '../../../shared/model.js';
import { LIBVIRT_MAX_DEPTH } from '../core/chain.js';
import { assignDefaultPorts } from '../core/backing/types.js';
import { DomainXmlError, attr, child, children, parseXml, text, type XmlElement } from './xml.js';

/** The parsed domain, before any header is read. */
export interface DomainDef {
  name: string | null;
  uuid: string | null;
  type: string | null;
  seclabels: XmlDomainSeclabel[];
  disks: Omit<DomainDisk, 'headerChain' | 'differences'>[];
}

function yesNo(v: string | null, where: string): boolean | null {
  if (v === null) return null;
  if (v === 'yes') return true;
  if (v === 'no') return false;
  throw new DomainXmlError(`${where}: relabel='${v}' is neither 'yes' nor 'no'`);
}

function deviceSeclabels(source: XmlElement | undefined, where: string): XmlDeviceSeclabel[] {
  return children(source, 'seclabel').map((s) => {
    const relabel = yesNo(attr(s, 'relabel'), `${where} <seclabel>`) ?? true;
    const label = text(child(s, 'label'));
    if (!relabel && label) {
      // libvirt refuses this combination when it defines the domain.
      throw new DomainXmlError(`${where} <seclabel>: a label with relabel='no' (libvirt refuses it)`);
    }
    return { model: attr(s, 'model'), relabel, label: label || null };
  });
}

function domainSeclabel(s: XmlElement, origin: string): XmlDomainSeclabel {
  const t = attr(s, 'type');
  if (t !== null && t !== 'dynamic' && t !== 'static' && t !== 'none') {
    throw new DomainXmlError(`${origin}: <seclabel type='${t}'> is not dynamic, static or none`);
  }
  const relabel = yesNo(attr(s, 'relabel'), `${origin}: domain`);
  if (t === 'dynamic' && relabel === false)
    throw new DomainXmlError(`${origin}: <seclabel type='dynamic' relabel='no'>: libvirt refuses it (dynamic labels must relabel)`);
  if (t === 'none' && relabel === true) throw new DomainXmlError(`${origin}: <seclabel type='none' relabel='yes'>: libvirt refuses it`);
  return {
    model: attr(s, 'model'),
    type: t,
    relabel,
    label: text(child(s, 'label')) || null,
    imagelabel: text(child(s, 'imagelabel')) || null,
    baselabel: text(child(s, 'baselabel')) || null,
  };
}

/** XmlLayer itself carries the structured source now; the old name stays for existing imports. */
export type SourcedXmlLayer = XmlLayer;

function hostOf(h: XmlElement, where: string): BackingHost {
  const transport = attr(h, 'transport') ?? 'tcp';
  if (transport !== 'tcp' && transport !== 'unix' && transport !== 'rdma')
    throw new DomainXmlError(`${where}: <host transport='${transport}'> is not tcp, unix or rdma`);
  const port = attr(h, 'port');
  if (port !== null && !/^\d{1,5}$/.test(port)) throw new DomainXmlError(`${where}: <host port='${port}'> is not a port number`);
  const name = attr(h, 'name');
  const socket = attr(h, 'socket');
  return {
    transport,
    ...(name !== null ? { name } : {}),
    ...(port !== null && Number(port) ? { port: Number(port) } : {}),
    ...(socket !== null ? { socket } : {}),
  };
}

/** `<source protocol name query><host/>...</source>` as a structured source, default ports filled in as libvirt does at start. */
function networkSource(src: XmlElement | undefined, where: string): BackingSource | undefined {
  const protocol = attr(src, 'protocol');
  if (!src || protocol === null) return undefined;
  const out: BackingSource = { type: 'network', protocol };
  const name = attr(src, 'name');
  if (name !== null) out.name = name;
  const query = attr(src, 'query');
  if (query !== null) out.query = query;
  const hosts = children(src, 'host').map((h) => hostOf(h, where));
  if (hosts.length) out.hosts = hosts;
  const snapshot = attr(child(src, 'snapshot'), 'name');
  if (snapshot !== null) out.snapshot = snapshot;
  const config = attr(child(src, 'config'), 'file');
  if (config !== null) out.config = config;
  assignDefaultPorts(out);
  return out;
}

/** Where a source points, as one line, and its local path when it has one. */
function describeSource(type: string, src: XmlElement | undefined): { path: string | null; display: string } {
  if (!src) return { path: null, display: '(no source)' };
  switch (type) {
    case 'file': {
      const p = attr(src, 'file');
      return { path: p, display: p ?? '(empty)' };
    }
    case 'block': {
      const p = attr(src, 'dev');
      return { path: p, display: p ?? '(empty)' };
    }
    case 'dir': {
      const p = attr(src, 'dir');
      return { path: p, display: p ?? '(empty)' };
    }
    case 'network': {
      const host = child(src, 'host');
      const h = host ? `${attr(host, 'name') ?? attr(host, 'socket') ?? ''}${attr(host, 'port') ? `:${attr(host, 'port')}` : ''}` : '';
      return { path: null, display: `${attr(src, 'protocol') ?? 'network'}://${h}/${attr(src, 'name') ?? ''}` };
    }
    case 'volume':
      return { path: null, display: `volume ${attr(src, 'pool') ?? '?'}/${attr(src, 'volume') ?? '?'}` };
    case 'nvme':
      return { path: null, display: `nvme namespace ${attr(src, 'namespace') ?? '?'}` };
    default:
      return {
        path: attr(src, 'file') ?? attr(src, 'dev') ?? attr(src, 'path'),
        display: `${type} ${attr(src, 'file') ?? attr(src, 'dev') ?? attr(src, 'path') ?? ''}`.trim(),
      };
  }
}

function dataStoreOf(src: XmlElement | undefined, where: string): XmlLayer['dataStore'] {
  const ds = children(src, 'dataStore');
  if (ds.length === 0) return null;
  if (ds.length > 1) throw new DomainXmlError(`${where}: more than one <dataStore>`);
  const d = ds[0]!;
  const type = attr(d, 'type') ?? 'file';
  const inner = child(d, 'source');
  const { path, display } = describeSource(type, inner);
  return { type, format: attr(child(d, 'format'), 'type'), path, display };
}

function indexOf(src: XmlElement | undefined, el: XmlElement): number | null {
  const v = attr(src, 'index') ?? attr(el, 'index');
  return v !== null && /^\d{1,9}$/.test(v) ? Number(v) : null;
}

function parseDisk(disk: XmlElement, n: number, origin: string): DomainDef['disks'][number] {
  const target = attr(child(disk, 'target'), 'dev');
  const where = `${origin}: disk ${target ?? `#${n + 1}`}`;
  const type = attr(disk, 'type') ?? 'file';
  const device = attr(disk, 'device') ?? 'disk';
  const source = child(disk, 'source');
  const chain: XmlLayer[] = [];
  let end: DomainDisk['xmlChainEnd'] = 'open';

  if (source) {
    const s = describeSource(type, source);
    const top: XmlLayer = {
      depth: 0,
      type,
      format: attr(child(disk, 'driver'), 'type'),
      path: s.path,
      display: s.display,
      index: indexOf(source, disk),
      dataStore: dataStoreOf(source, where),
      seclabels: deviceSeclabels(source, where),
    };
    const topSource = type === 'network' ? networkSource(source, where) : undefined;
    if (topSource) top.source = topSource;
    chain.push(top);
    // A loop over the nesting, bounded like the header walker: no recursion on hostile depth.
    let level: XmlElement = disk;
    for (let depth = 1; ; depth++) {
      const bs = children(level, 'backingStore');
      if (bs.length === 0) break;
      if (bs.length > 1) throw new DomainXmlError(`${where}: more than one <backingStore> at level ${depth}`);
      const b = bs[0]!;
      const btype = attr(b, 'type');
      if (btype === null) {
        // <backingStore/>: the chain ends here, libvirt tells qemu there is nothing below.
        end = 'terminated';
        break;
      }
      if (depth > LIBVIRT_MAX_DEPTH)
        throw new DomainXmlError(`${where}: more than ${LIBVIRT_MAX_DEPTH} <backingStore> levels (libvirt's limit)`);
      const bsrc = child(b, 'source');
      const s2 = describeSource(btype, bsrc);
      const layer: XmlLayer = {
        depth,
        type: btype,
        format: attr(child(b, 'format'), 'type'),
        path: s2.path,
        display: s2.display,
        index: indexOf(bsrc, b),
        dataStore: dataStoreOf(bsrc, `${where} level ${depth}`),
        seclabels: deviceSeclabels(bsrc, `${where} level ${depth}`),
      };
      const net = btype === 'network' ? networkSource(bsrc, `${where} level ${depth}`) : undefined;
      if (net) layer.source = net;
      chain.push(layer);
      level = b;
    }
  }
  return {
    target,
    device,
    type,
    bus: attr(child(disk, 'target'), 'bus'),
    readonly: children(disk, 'readonly').length > 0,
    shareable: children(disk, 'shareable').length > 0,
    xmlChain: chain,
    xmlChainEnd: end,
  };
}

/** Parse a domain XML (text from `origin`). Throws DomainXmlError with the origin in the message. */
export function parseDomainXml(xml: string, origin: string): DomainDef {
  const { name, root } = parseXml(xml, origin);
  if (name !== 'domain') throw new DomainXmlError(`${origin}: the root element is <${name}>, not <domain>: not a libvirt domain XML`);
  const devices = child(root, 'devices');
  return {
    name: text(child(root, 'name')),
    uuid: text(child(root, 'uuid')),
    type: attr(root, 'type'),
    seclabels: children(root, 'seclabel').map((s) => domainSeclabel(s, origin)),
    disks: children(devices, 'disk').map((d, i) => parseDisk(d, i, origin)),
  };
}
