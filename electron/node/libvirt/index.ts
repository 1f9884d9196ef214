// What the CLI and the server call: open a domain (file, text or virsh), compare every disk's XML
// chain with its headers, resolve the VM profile with its sources, export a chain. No side
// effects: files are only read.
import * as fs from 'node:fs';
import { openRegularFile } from '../core/open.js';
import { HeaderError } from '../core/source.js';
import type { Difference, DomainDisk, DomainReport, XmlLayer } from '../../../shared/domain.js';
import type { ChainNode } from '../../../shared/model.js';
import { inspect } from '../core/chain.js';
import { selinuxEnabled } from '../native/libc.js';
import { compareChains, headerLayers } from './compare.js';
import { parseDomainXml, type DomainDef } from './domain-xml.js';
import { plannableDisks, resolveProfile, type HostFacts } from './profile.js';
import { DEFAULT_QEMU_CONF, readQemuConf } from './qemu-conf.js';
import { dataFileMissedBy, libvirtVersion, type LibvirtVersion } from './version.js';
import { virshDumpxml } from './virsh.js';
import { DomainXmlError, MAX_XML_BYTES } from './xml.js';

export { parseDomainXml, type DomainDef } from './domain-xml.js';
export { resolveProfile, plannableDisks } from './profile.js';
export { compareChains, headerLayers } from './compare.js';
export { diskXml, blockdevNodes, blockdevArgs, nestedJson, type BlockdevNode } from './export.js';
export { parseConf, readQemuConf, DEFAULT_QEMU_CONF, ConfError } from './qemu-conf.js';
export { DomainXmlError } from './xml.js';
export { virshDumpxml } from './virsh.js';
export { libvirtVersion, NEWEST_KNOWN_LIBVIRT, type LibvirtVersion } from './version.js';

export interface OpenDomainInput {
  /** A domain XML file. */
  file?: string;
  /** The XML itself (pasted, or read from stdin). */
  text?: string;
  /** `virsh dumpxml NAME`. */
  virshName?: string;
  /** qemu.conf (default: $DISKCHAIN_QEMU_CONF, else /etc/libvirt/qemu.conf). */
  qemuConf?: string;
  /** Host facts (tests); default: this host's. */
  host?: HostFacts;
  /** `--libvirt-version X.Y`; default: the installed libvirtd's, else the newest known. */
  libvirtVersion?: string;
}

export function qemuConfPath(explicit?: string): string {
  return explicit ?? process.env.DISKCHAIN_QEMU_CONF ?? DEFAULT_QEMU_CONF;
}

/**
 * Read a domain XML file: regular files only (looked at before anything is opened, so a device
 * or FIFO is never opened), bounded, and the file opened is the one looked at.
 */
export function readDomainFile(file: string): string {
  let opened: { fd: number; size: number };
  try {
    opened = openRegularFile(file);
  } catch (e) {
    if (e instanceof HeaderError) throw new DomainXmlError(`${file}: not a regular file (${e.message})`);
    throw new DomainXmlError(`${file}: cannot be opened (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const { fd, size } = opened;
  try {
    if (size > MAX_XML_BYTES) throw new DomainXmlError(`${file}: ${size} bytes is more than a domain XML can be (limit ${MAX_XML_BYTES})`);
    const buf = Buffer.alloc(size + 1);
    const n = fs.readSync(fd, buf, 0, buf.length, 0);
    if (n > size) throw new DomainXmlError(`${file}: grew while being read`);
    return buf.subarray(0, n).toString('utf8');
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * `libvirt-skips-data-file`: the top names a data file that libvirt `v` will not find from the
 * header, and the XML does not name it either. qemu then cannot open the image.
 */
export function dataFileSkip(xmlTop: XmlLayer, root: ChainNode, v: LibvirtVersion): Difference | null {
  if (xmlTop.dataStore || !root.dataFile || root.format !== 'qcow2' || (xmlTop.format ?? 'raw') !== 'qcow2') return null;
  const why = dataFileMissedBy(v, root.header?.extensions ?? []);
  if (!why) return null;
  return {
    code: 'libvirt-skips-data-file',
    severity: 'error',
    depth: 0,
    message:
      `data file ${root.dataFile.path}: ${why}; libvirt neither labels it nor hands it to qemu, so the VM cannot open it ` +
      `(libvirt ${v.text}: ${v.source}). Fix: name it with an explicit <dataStore> in the domain XML ` +
      `(diskchain export --libvirt-xml writes one)`,
  };
}

/** The `libvirt-skips-data-file` differences of a domain's local disks (relabel with a domain). */
export function dataFileSkips(def: DomainDef, v: LibvirtVersion): Difference[] {
  return plannableDisks(def.disks).flatMap((i) => {
    const top = def.disks[i]!.xmlChain[0]!;
    const skip = dataFileSkip(top, inspect(top.path!), v);
    return skip ? [{ ...skip, message: `disk ${def.disks[i]!.target ?? top.path}: ${skip.message}` }] : [];
  });
}

/** Every disk with its header chain (local files only) and the differences. */
export function compareDisks(def: DomainDef, v: LibvirtVersion = libvirtVersion()): DomainDisk[] {
  return def.disks.map((d) => {
    const top = d.xmlChain[0];
    if (!top) {
      return {
        ...d,
        headerChain: null,
        differences: [{ code: 'not-inspected', severity: 'info', depth: null, message: `${d.device} with no source (empty)` }],
      };
    }
    if (d.type !== 'file' || !top.path) {
      const why =
        d.type === 'block' ? 'a block device: diskchain never opens devices' : `a ${d.type} source (${top.display}): not a local file`;
      return {
        ...d,
        headerChain: null,
        differences: [{ code: 'not-inspected', severity: 'info', depth: null, message: `headers not read: ${why}` }],
      };
    }
    // The headers' own view: the top's format probed, not taken from the XML, so a wrong
    // <driver type> shows up as a difference instead of as a broken chain.
    const root = inspect(top.path);
    const header = headerLayers(root);
    const skip = dataFileSkip(top, root, v);
    return { ...d, headerChain: header, differences: [...compareChains(d, header), ...(skip ? [skip] : [])] };
  });
}

/** Resolve the profile of `def` against qemu.conf at `confPath`. */
export function profileFor(
  def: DomainDef | null,
  confPath: string,
  host?: HostFacts,
): Pick<DomainReport, 'qemuConf' | 'profile' | 'profileError'> {
  let found = false;
  try {
    const r = readQemuConf(confPath);
    found = r.found;
    const profile = resolveProfile(r.conf, confPath, def, host ?? { selinuxEnabled: selinuxEnabled() });
    return { qemuConf: { path: confPath, found, error: null }, profile, profileError: null };
  } catch (e) {
    const msg = (e as Error).message;
    return { qemuConf: { path: confPath, found, error: msg }, profile: null, profileError: msg };
  }
}

/** The XML text and where it came from. */
export async function domainText(input: OpenDomainInput): Promise<{ text: string; origin: string }> {
  const given = [input.file, input.text, input.virshName].filter((x) => x !== undefined).length;
  if (given !== 1) throw new DomainXmlError('give exactly one of a domain XML file, its text, or a virsh domain name');
  if (input.text !== undefined) return { text: input.text, origin: '-' };
  if (input.file !== undefined) return { text: readDomainFile(input.file), origin: input.file };
  return { text: await virshDumpxml(input.virshName!), origin: `virsh dumpxml ${input.virshName}` };
}

/** Open a domain: its disks compared with their headers and the resolved profile. */
export async function openDomain(input: OpenDomainInput): Promise<DomainReport> {
  const { text, origin } = await domainText(input);
  const def = parseDomainXml(text, origin);
  return {
    origin,
    name: def.name,
    uuid: def.uuid,
    type: def.type,
    seclabels: def.seclabels,
    disks: compareDisks(def, libvirtVersion(input.libvirtVersion)),
    ...profileFor(def, qemuConfPath(input.qemuConf), input.host),
  };
}
