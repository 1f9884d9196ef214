// A libvirt domain as diskchain reads it: each disk's chain as the XML states it beside the chain
// the image headers give, the differences, and the VM profile with where every value came from.
// Plain JSON data only (imported by the renderer).
import type { BackingSource, FormatName } from './model.js';
import type { Driver, VmProfile } from './plan.js';

/** A `<seclabel>` inside a `<source>` (per-disk or per-layer). */
export interface XmlDeviceSeclabel {
  /** null when the element names no model. */
  model: string | null;
  relabel: boolean;
  label: string | null;
}

/** The domain-level `<seclabel>`. */
export interface XmlDomainSeclabel {
  model: string | null;
  /** As written; null when the attribute is absent (libvirt then picks by security_default_confined). */
  type: 'dynamic' | 'static' | 'none' | null;
  /** As written; null when absent (default: yes for dynamic, no for static and none). */
  relabel: boolean | null;
  label: string | null;
  imagelabel: string | null;
  baselabel: string | null;
}

/** One level of a disk's chain as the XML states it: the disk's `<source>`, then each `<backingStore>`. */
export interface XmlLayer {
  depth: number;
  /** `<disk type>` / `<backingStore type>`: file, block, network, volume, dir, nvme... */
  type: string;
  /** `<driver type>` for the top, `<format type>` below; null when not stated. */
  format: string | null;
  /** file=, dev= or dir=; null for network and volume sources. */
  path: string | null;
  /** What the source is, in one line (for network: protocol://host/name, for volume: pool/volume). */
  display: string;
  index: number | null;
  dataStore: { type: string; format: string | null; path: string | null; display: string } | null;
  seclabels: XmlDeviceSeclabel[];
  /** A network `<source>` as libvirt's structured source (compared structurally, not by path). */
  source?: BackingSource;
}

/** The header chain of a disk, summarised for display (the full nodes come from `inspect`). */
export interface HeaderLayer {
  depth: number;
  path: string;
  /** The name the level above gave it (the top: as the XML gives it). */
  name: string;
  format: FormatName | null;
  formatSource: 'header' | 'probed' | 'given' | 'assumed-raw' | null;
  dataFile: { path: string; name: string } | null;
  /** Problem messages on the image or its data file. */
  problems: string[];
  /** The structured source of a network (or other never-opened) name. */
  source?: BackingSource;
}

export const DIFFERENCE_CODES = [
  'path-differs', // the XML names another file at this level
  'format-differs', // the XML states another format than the header
  'extra-level', // the XML lists a level the headers do not have
  'missing-level', // the headers have a level the XML's chain does not list
  'terminated-early', // <backingStore/> where the header names a backing file
  'data-file-missing', // the header names a data file, the XML's <source> has no <dataStore>
  'data-file-extra', // the XML names a data file the header does not
  'data-file-differs', // both name one, not the same file
  'data-file-format', // a <dataStore> format other than raw
  'libvirt-skips-data-file', // this libvirt version does not find the top's data file in its header
  'header-problem', // the headers themselves have a problem at this level
  'probed-chain', // the XML lists no chain: libvirt reads it from the headers (informational)
  'not-inspected', // network, volume, empty cdrom...: nothing to compare (informational)
] as const;
export type DifferenceCode = (typeof DIFFERENCE_CODES)[number];

export interface Difference {
  code: DifferenceCode;
  /** 'error': libvirt or qemu would use other files than the headers say; 'info': worth knowing. */
  severity: 'error' | 'warning' | 'info';
  /** The chain level (0 = the disk's source), null for the whole disk. */
  depth: number | null;
  message: string;
}

export interface DomainDisk {
  /** `<target dev>`, e.g. vda; null when missing. */
  target: string | null;
  /** disk, cdrom, floppy, lun. */
  device: string;
  type: string;
  bus: string | null;
  readonly: boolean;
  shareable: boolean;
  xmlChain: XmlLayer[];
  /**
   * How the XML's chain ends: 'open' (no <backingStore>: libvirt reads the rest from the headers),
   * 'terminated' (<backingStore/>: nothing below).
   */
  xmlChainEnd: 'open' | 'terminated';
  /** null when the disk is not a local file (network, volume, block, empty). */
  headerChain: HeaderLayer[] | null;
  differences: Difference[];
}

/** A profile value and where it came from ("qemu.conf:12 user = \"qemu\"", "libvirt default", ...). */
export interface Sourced<T> {
  value: T;
  source: string;
}

export interface DiskProfileView {
  target: string | null;
  path: string;
  readonly: Sourced<boolean>;
  shareable: Sourced<boolean>;
  /** Per driver: whether this disk's files are relabelled, and with what (null: the VM's label). */
  dac: { relabel: Sourced<boolean>; label: Sourced<string | null> };
  selinux: { relabel: Sourced<boolean>; label: Sourced<string | null> };
}

/** The VM profile resolved as libvirt does, every value with its source. */
export interface ResolvedProfile {
  /** qemu.conf's security_driver as libvirt reads it (the confinement drivers; DAC is separate). */
  securityDrivers: Sourced<string[]>;
  dynamicOwnership: Sourced<boolean>;
  rememberOwner: Sourced<boolean>;
  defaultConfined: Sourced<boolean>;
  dac: { enabled: Sourced<boolean>; user: Sourced<string>; group: Sourced<string> };
  selinux: { enabled: Sourced<boolean>; imageLabel: Sourced<string | null> };
  disks: DiskProfileView[];
  /** The drivers Relabel / Restore will act with. */
  drivers: Driver[];
  /** What to plan with (allowRoots empty: the caller adds its own). */
  profile: VmProfile;
  /** Things worth knowing (apparmor is not reproduced, a disk seclabel without model...). */
  notes: string[];
}

export interface DomainReport {
  /** Where the XML came from: a file path, '-' (stdin or pasted text), or `virsh dumpxml NAME`. */
  origin: string;
  name: string | null;
  uuid: string | null;
  /** `<domain type>`: kvm, qemu... */
  type: string | null;
  seclabels: XmlDomainSeclabel[];
  disks: DomainDisk[];
  qemuConf: { path: string; found: boolean; error: string | null };
  /** null when it could not be resolved (the reason is in profileError). */
  profile: ResolvedProfile | null;
  profileError: string | null;
}

/** The real path of a disk's top image as its headers give it; null for a disk that is no local file. */
export function diskTop(d: Pick<DomainDisk, 'headerChain'>): string | null {
  return d.headerChain?.[0]?.path ?? null;
}
