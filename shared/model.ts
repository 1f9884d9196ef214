// The inspected chain as both the CLI (`inspect --json`) and the renderer see it.
// Plain JSON data only: this file is imported by the renderer, so no Node APIs here.

export type Role = 'image' | 'backing' | 'data-file';

/** qemu's block driver names, plus 'iso' (qemu opens ISO 9660 as raw; we say what it is). */
export type FormatName = 'qcow2' | 'qcow' | 'qed' | 'vmdk' | 'vdi' | 'vpc' | 'vhdx' | 'luks' | 'iso' | 'raw';

export const PROBLEM_CODES = [
  'missing', // the named file does not exist
  'unreadable', // exists but open/read failed (EACCES, EIO, ...)
  'loop', // same device+inode already in this chain
  'too-deep', // more layers than libvirt accepts (200)
  'protocol', // `nbd:...`, `json:{...}`: never opened
  'network', // `http://`, `gluster://`...: never opened
  'not-regular', // FIFO, socket, folder: never opened
  'device', // block or character device: never opened
  'unsafe-path', // under /proc, /sys or /dev: never opened
  'invalid-header', // qemu would refuse to open this image
  'unsupported-feature', // unknown incompatible bit, encryption we cannot show...
  'format-probed', // backing format not recorded; probed as libvirt would
  'no-backing-format', // not recorded, and libvirt would refuse to probe it
  'data-file-relative', // qemu and libvirt resolve it against different folders
  'data-file-bit-without-name', // incompatible bit 2 set, no data-file extension
  'data-file-name-without-bit', // extension present, bit 2 clear: qemu ignores the name
  'raw-data-file-with-backing', // data_file_raw together with a backing file
  'bad-name', // NUL bytes, invalid UTF-8, empty or overlong name
  'dirty', // qcow2/qed dirty bit: not closed cleanly
  'corrupt', // qcow2 corrupt bit
] as const;

export type ProblemCode = (typeof PROBLEM_CODES)[number];

export interface Problem {
  code: ProblemCode;
  message: string;
}

export interface Owner {
  uid: number;
  gid: number;
  /** NSS name, or null when the id has no entry. */
  user: string | null;
  group: string | null;
  /** Permission bits and file type bits exactly as st_mode. */
  mode: number;
}

/** One of libvirt's remembered-label records (trusted.libvirt.security.*). */
export interface RememberedRecord {
  /** The original label: `+uid:+gid` for dac, a context for selinux; null if absent. */
  label: string | null;
  refcount: number | null;
  timestamp: string | null;
  /** True when `timestamp` equals this host's boot time: a stale record is discarded by libvirt. */
  current: boolean;
}

export interface Remembered {
  dac: RememberedRecord | null;
  selinux: RememberedRecord | null;
}

export interface FileStat {
  dev: number;
  ino: number;
  nlink: number;
  size: number;
  /** st_blocks * 512 */
  allocated: number;
  type: 'file' | 'dir' | 'symlink' | 'fifo' | 'socket' | 'block' | 'char' | 'unknown';
  mtimeMs: number;
}

/** Where a node's name came from and how it was turned into paths. */
export interface NameInfo {
  /** The name bytes exactly as stored in the parent's header, hex encoded. */
  rawHex: string;
  /** qemu's full-backing-filename: plain join with the naming image's folder. */
  qemuPath: string;
  /** libvirt's join (folder + "/" + name) before realpath. */
  joined: string;
  kind: 'file' | 'protocol' | 'network';
  /** The name as libvirt's backing parser reads it (colon forms, URIs, `json:`); absent when it refuses it. */
  source?: BackingSource;
  /** Why libvirt's backing parser refuses the name (libvirt then fails the whole chain). */
  sourceError?: string;
  /** libvirt parsed it but drops credentials written inline (user@host, iscsi user/password). */
  inlineAuth?: boolean;
}

/** One server of a network source, as libvirt's `<host>`. */
export interface BackingHost {
  transport: 'tcp' | 'unix' | 'rdma';
  name?: string;
  port?: number;
  socket?: string;
}

/** A backing name as libvirt's virStorageSource holds it (what `<source>` in a domain XML states). */
export interface BackingSource {
  type: 'file' | 'block' | 'dir' | 'network' | 'nvme';
  /** file, block, dir: the path. */
  path?: string;
  /** network: nbd, rbd, gluster, iscsi, http, https, ftp, ftps, tftp, ssh, sheepdog, vxhs, nfs. */
  protocol?: string;
  /** network: `<source name>` (gluster and rbd: volume/path); absent for an nbd server's default export. */
  name?: string;
  hosts?: BackingHost[];
  /** http(s): the URL's query, as written. */
  query?: string;
  snapshot?: string;
  config?: string;
  /** raw driver's offset/size over the file. */
  slice?: { offset?: number; size?: number };
  sslVerify?: boolean;
  cookies?: { name: string; value: string }[];
  readahead?: number;
  timeout?: number;
  /** nfs: `<identity user group>` as libvirt writes them (`+uid`). */
  identity?: { user: string; group: string };
  nvme?: { device: string; namespace: number };
}

export interface Qcow2Extension {
  type: number;
  name: string;
  length: number;
}

/** A qcow2 internal snapshot, as its table entry says. */
export interface Snapshot {
  /** The id and name as qemu-img shows them (C string, at most 127 / 255 bytes, invalid UTF-8 as U+FFFD). */
  id: string;
  name: string;
  /** The stored bytes, hex encoded (the first 1024 bytes of a longer one), and their stored length. */
  idHex: string;
  nameHex: string;
  idSize: number;
  nameSize: number;
  /** 64-bit values: a number when exact, else decimal text. */
  vmStateSize: number | string;
  dateSec: number;
  dateNsec: number;
  vmClockNsec: number | string;
  /** Instruction count at the snapshot; null when the entry does not record it. */
  icount: number | string | null;
}

/** Format details for the details panel; `fields` holds every parsed header field. */
export interface HeaderInfo {
  format: FormatName;
  /** Bytes; decimal text when above 2^53 - 1 (qemu allows sizes up to about 2^63), never rounded. */
  virtualSize: number | string;
  clusterSize: number | null;
  encrypted: boolean;
  dirty: boolean;
  fields: Record<string, string | number | boolean | null>;
  extensions: Qcow2Extension[];
  /** qemu-img's `format-specific` object for this image, when it has one. */
  formatSpecific: unknown;
  /** qcow2 internal snapshots, in table order; absent for other formats and for none. */
  snapshots?: Snapshot[];
}

export interface ChainNode {
  /** Real absolute path (libvirt's resolution, after realpath); for protocol nodes, the name. */
  path: string;
  /** The name as the parent named it; for the top, as given. */
  name: string;
  role: Role;
  /** The format used to read the node, or null when it was never read. */
  format: FormatName | null;
  /** Where `format` came from. */
  formatSource: 'header' | 'probed' | 'given' | 'assumed-raw' | null;
  depth: number;
  nameInfo: NameInfo | null;
  stat: FileStat | null;
  owner: Owner | null;
  selinux: string | null;
  remembered: Remembered;
  header: HeaderInfo | null;
  backing: ChainNode | null;
  dataFile: ChainNode | null;
  problems: Problem[];
  /**
   * A vmdk descriptor's extent files (qemu opens each one with it), in the descriptor's role and
   * depth, never read as images; absent when the image names no file but itself.
   */
  extents?: ChainNode[];
}

export interface InspectResult {
  root: ChainNode;
}

/** Visit every node of a chain without recursion (chains can be thousands deep). */
export function chainNodes(root: ChainNode): ChainNode[] {
  const out: ChainNode[] = [];
  const stack: ChainNode[] = [root];
  while (stack.length) {
    const n = stack.pop()!;
    out.push(n);
    if (n.backing) stack.push(n.backing);
    if (n.dataFile) stack.push(n.dataFile);
    if (n.extents) stack.push(...n.extents);
  }
  return out;
}
