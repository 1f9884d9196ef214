// Domain XML documents shaped like `virsh dumpxml` output, over qemu-img chains in temp folders.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeChain, type Chain } from '../support/chain.js';

export type Chain3 = Chain;

/** base.qcow2 (data file base.raw) ← mid.qcow2 ← top.qcow2 (data file top.raw), absolute names. */
export function makeChain3(dir: string, prefix = ''): Chain3 {
  return makeChain(dir, prefix, 'absolute');
}

export function dataStore(file: string, format = 'raw'): string {
  return `<dataStore type='file'>\n          <format type='${format}'/>\n          <source file='${file}'/>\n        </dataStore>`;
}

export interface Level {
  file: string;
  format: string;
  data?: string;
  dataFormat?: string;
  seclabel?: string;
  index?: number;
}

/** A <disk> with the given levels (the first is the source) and how the chain ends. */
export function diskElement(
  levels: Level[],
  o: { target?: string; end?: 'terminated' | 'open'; extra?: string; seclabel?: string } = {},
): string {
  const [top, ...rest] = levels;
  const src = (l: Level) => {
    const inner = [l.data ? dataStore(l.data, l.dataFormat) : '', l.seclabel ?? ''].filter(Boolean).join('\n        ');
    const idx = l.index !== undefined ? ` index='${l.index}'` : '';
    return inner ? `<source file='${l.file}'${idx}>\n        ${inner}\n      </source>` : `<source file='${l.file}'${idx}/>`;
  };
  let chain = '';
  let close = '';
  for (const l of rest) {
    chain += `<backingStore type='file'>\n      <format type='${l.format}'/>\n      ${src(l)}\n      `;
    close = `</backingStore>\n      ${close}`;
  }
  if (levels.length > 1 || o.end === 'terminated') chain += o.end === 'open' ? '' : '<backingStore/>\n      ';
  return `    <disk type='file' device='disk'>
      <driver name='qemu' type='${top!.format}' cache='none' discard='unmap'/>
      ${top ? src({ ...top, seclabel: [top.seclabel, o.seclabel].filter(Boolean).join('\n') || undefined }) : ''}
      ${chain}${close}<target dev='${o.target ?? 'vda'}' bus='virtio'/>
      ${o.extra ?? ''}
      <alias name='virtio-disk0'/>
      <address type='pci' domain='0x0000' bus='0x04' slot='0x00' function='0x0'/>
    </disk>`;
}

/** A whole domain in the shape virsh dumpxml prints, with `disks` and optional domain seclabels. */
export function domainXml(disks: string[], seclabels = ''): string {
  return `<domain type='kvm' id='3'>
  <name>web01</name>
  <uuid>5f1c2a84-6f5e-4a5e-9d6b-2f1f0c9a7e11</uuid>
  <memory unit='KiB'>2097152</memory>
  <currentMemory unit='KiB'>2097152</currentMemory>
  <vcpu placement='static'>2</vcpu>
  <os>
    <type arch='x86_64' machine='pc-q35-7.2'>hvm</type>
    <boot dev='hd'/>
  </os>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
${disks.join('\n')}
    <disk type='file' device='cdrom'>
      <driver name='qemu' type='raw'/>
      <target dev='sda' bus='sata'/>
      <readonly/>
      <address type='drive' controller='0' bus='0' target='0' unit='0'/>
    </disk>
    <disk type='network' device='disk'>
      <driver name='qemu' type='raw'/>
      <source protocol='rbd' name='pool/vol1'>
        <host name='ceph1' port='6789'/>
      </source>
      <target dev='vdx' bus='virtio'/>
    </disk>
    <disk type='volume' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source pool='default' volume='data.qcow2'/>
      <target dev='vdy' bus='virtio'/>
    </disk>
    <interface type='network'>
      <source network='default'/>
      <model type='virtio'/>
    </interface>
  </devices>
${seclabels}
</domain>
`;
}

export function write(dir: string, name: string, text: string): string {
  const f = path.join(dir, name);
  fs.writeFileSync(f, text);
  return f;
}
