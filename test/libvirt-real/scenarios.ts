// The disks the real-libvirt suite starts VMs on, and how a file's state is compared: owner,
// mode, libvirt's remembered records (the boot timestamp by presence only: libvirt computes its
// own boot time) and the SELinux label where there is one.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { libvirtAttrs, makeChain, makeImageWithData, xattr } from '../support/chain.js';
import { diskchain } from '../support/bin.js';

export interface Disks {
  /** Every file the VM uses, by absolute path. */
  files: string[];
  /** The <disk> elements. */
  xml: string;
  /** The files whose owner was 1000:1000 mode 0600 before, and must be again after restore. */
  userOwned: string[];
}

function exported(top: string, ...args: string[]): string {
  const r = diskchain(['export', '--libvirt-xml', ...args, top]);
  if (r.status !== 0 || !r.stdout.includes('<disk')) throw new Error(`export --libvirt-xml failed: ${r.stderr}`);
  return r.stdout;
}

/**
 * Each scenario is one VM (a start costs seconds under TCG on a busy machine), made in an empty
 * `dir`. Chains name their layers by absolute path, as libvirt-made chains usually do.
 */
export const SCENARIOS: Record<string, (dir: string) => Disks> = {
  // libvirt 11.3 reads the top's data file from the header (and misses it: its padding bug).
  'source-only': (dir) => {
    const c = makeChain(dir, { names: 'absolute' });
    const xml = `<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${c.top}'/><target dev='vda' bus='virtio'/></disk>`;
    return { files: c.all, xml, userOwned: [] };
  },
  // Explicit <backingStore>/<dataStore> from export: a plain disk, a readonly one, one whose top is a user's 1000:1000 0600 file; a shareable disk, a readonly one with <source> only, and a cdrom.
  explicit: (dir) => {
    const chain = (prefix: string) => makeChain(dir, { prefix, names: 'absolute' });
    const plain = chain('plain-');
    const ro = chain('ro-');
    // libvirt refuses <shareable/> on qcow2 ("shared access … requires use of supported storage
    // format"), so the shareable disk is a raw image.
    const shared = path.join(dir, 'shared.img');
    fs.writeFileSync(shared, Buffer.alloc(64 << 10));
    const owned = chain('owned-');
    fs.chownSync(owned.top, 1000, 1000);
    fs.chmodSync(owned.top, 0o600);
    // A readonly disk whose data file libvirt reads from the header (its only extension, so
    // 11.3's padding bug does not hide it).
    const roHeader = makeImageWithData(dir, 'rohdr');
    const iso = path.join(dir, 'disc.iso');
    fs.writeFileSync(iso, Buffer.alloc(64 << 10));
    const xml = [
      exported(plain.top, '--target', 'vda'),
      exported(ro.top, '--target', 'vdb', '--readonly'),
      `<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='${shared}'/><target dev='vdc' bus='virtio'/><shareable/></disk>`,
      exported(owned.top, '--target', 'vdd'),
      `<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${roHeader.image}'/><target dev='vde' bus='virtio'/><readonly/></disk>`,
      `<disk type='file' device='cdrom'><driver name='qemu' type='raw'/><source file='${iso}'/><target dev='hdc' bus='ide'/><readonly/></disk>`,
    ].join('\n');
    return { files: [...plain.all, ...ro.all, shared, ...owned.all, roHeader.image, roHeader.data, iso], xml, userOwned: [owned.top] };
  },
};

/** A TCG guest with no OS: qemu only has to open the disks. */
export function domainXml(name: string, disks: string): string {
  return `<domain type='qemu'>
  <name>${name}</name>
  <memory unit='MiB'>32</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    ${disks}
  </devices>
</domain>
`;
}

/** Each file's state as one comparable line, keyed by its name in the scenario's folder. */
export type Seen = Record<string, string>;

export function seen(files: string[]): Seen {
  const out: Seen = {};
  for (const f of files) {
    const st = fs.lstatSync(f);
    const attrs = Object.entries(libvirtAttrs(f))
      .map(([k, v]) => (k.startsWith('timestamp_') ? k : `${k}=${v}`))
      .sort();
    const label = xattr(f, 'security.selinux');
    out[path.basename(f)] = [`${st.uid}:${st.gid}`, (st.mode & 0o7777).toString(8), ...attrs, ...(label ? [label] : [])].join(' ');
  }
  return out;
}
