// `diskchain domain FILE|- [--virsh NAME] [--qemu-conf FILE] [--json]`: every disk's chain as the
// domain XML states it beside the chain its headers give, the differences, and the VM profile
// with the source of every value. Exits 3 when a disk's XML chain disagrees with its headers.
import { Command } from 'commander';
import type { DomainDisk, DomainReport, HeaderLayer, ResolvedProfile, Sourced, XmlLayer } from '../../../shared/domain.js';
import { openDomain, type OpenDomainInput } from '../libvirt/index.js';
import { MAX_XML_BYTES } from '../libvirt/xml.js';
import { LIBVIRT_VERSION_OPTION } from './options.js';
import { textLines, writeOut } from './output.js';

export const EXIT_DIFFERENCES = 3;

/** stdin, bounded like a file. */
export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of process.stdin) {
    const b = c as Buffer;
    size += b.length;
    if (size > MAX_XML_BYTES) throw new Error(`stdin: more than ${MAX_XML_BYTES} bytes, not a domain XML`);
    chunks.push(b);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The input of `domain` / `relabel --domain`: a file, '-' for stdin, or a virsh name. */
export async function domainInput(file: string | undefined, virsh: string | undefined): Promise<OpenDomainInput> {
  if (file && virsh) throw new Error('give a domain XML file or --virsh NAME, not both');
  if (virsh) return { virshName: virsh };
  if (!file) throw new Error('give a domain XML file, - for stdin, or --virsh NAME');
  if (file === '-') return { text: await readStdin() };
  return { file };
}

function xmlCell(l: XmlLayer | undefined): string {
  if (!l) return '';
  return `${l.display} (${l.format ?? (l.depth === 0 ? 'raw?' : '?')})${l.dataStore ? ` + data ${l.dataStore.display}` : ''}`;
}

function headerCell(h: HeaderLayer | undefined): string {
  if (!h) return '';
  return `${h.path} (${h.format ?? 'unread'})${h.dataFile ? ` + data ${h.dataFile.path}` : ''}`;
}

function renderDisk(d: DomainDisk): string[] {
  const flags = [d.device, d.type, d.bus, d.readonly ? 'readonly' : null, d.shareable ? 'shareable' : null].filter(Boolean).join(', ');
  const out = [`disk ${d.target ?? '(no target)'} (${flags})`];
  if (d.xmlChain.length) {
    const n = Math.max(d.xmlChain.length, d.headerChain?.length ?? 0);
    out.push(`  level  XML | headers`);
    for (let i = 0; i < n; i++) {
      out.push(`  ${String(i).padEnd(5)}  ${xmlCell(d.xmlChain[i]) || '-'}`);
      if (d.headerChain) out.push(`         ${' '.repeat(0)}| ${headerCell(d.headerChain[i]) || '-'}`);
    }
    out.push(
      `  XML chain ends: ${d.xmlChainEnd === 'terminated' ? '<backingStore/> (nothing below)' : 'open (libvirt reads the rest from the headers)'}`,
    );
  }
  for (const x of d.differences)
    out.push(`  ${x.severity === 'error' ? '!' : x.severity === 'warning' ? '~' : 'i'} ${x.code}: ${x.message}`);
  return out;
}

function line(label: string, v: Sourced<unknown>): string {
  const value = Array.isArray(v.value)
    ? v.value.length
      ? v.value.join(', ')
      : '(none)'
    : v.value === null
      ? '(none)'
      : typeof v.value === 'boolean'
        ? v.value
          ? 'yes'
          : 'no'
        : String(v.value);
  return `  ${label.padEnd(20)} ${value.padEnd(24)} ← ${v.source}`;
}

/** The resolved profile, one value per line with its source (not escaped: print with textLines). */
export function renderProfile(p: ResolvedProfile): string[] {
  const out = [
    line('security_driver', p.securityDrivers),
    line('dynamic_ownership', p.dynamicOwnership),
    line('remember_owner', p.rememberOwner),
    line('default_confined', p.defaultConfined),
    line('dac', p.dac.enabled),
    line('  user', p.dac.user),
    line('  group', p.dac.group),
    line('selinux', p.selinux.enabled),
    line('  image label', p.selinux.imageLabel),
  ];
  for (const d of p.disks) {
    out.push(`  disk ${d.target ?? d.path}: ${d.path}`);
    out.push(line('    readonly', d.readonly), line('    shareable', d.shareable));
    out.push(line('    dac relabel', d.dac.relabel));
    if (d.dac.label.value) out.push(line('    dac label', d.dac.label));
    out.push(line('    selinux relabel', d.selinux.relabel));
    if (d.selinux.label.value) out.push(line('    selinux label', d.selinux.label));
  }
  out.push(`  → relabel/restore with: ${p.drivers.length ? p.drivers.join(' + ') : 'nothing (libvirt would not relabel these files)'}`);
  for (const n of p.notes) out.push(`  note: ${n}`);
  return out;
}

export function renderDomain(r: DomainReport): string {
  const out = [`domain ${r.name ?? '(no name)'}${r.uuid ? ` ${r.uuid}` : ''} (from ${r.origin})`];
  for (const d of r.disks) out.push(...renderDisk(d));
  if (!r.disks.length) out.push('no <disk> elements');
  out.push(`profile (qemu.conf ${r.qemuConf.path}: ${r.qemuConf.found ? 'read' : 'not found, libvirt defaults'})`);
  if (r.profile) out.push(...renderProfile(r.profile));
  else out.push(`  cannot be resolved: ${r.profileError}`);
  return textLines(out) + '\n';
}

export function registerDomain(program: Command): void {
  program
    .command('domain')
    .description("compare each disk's chain in a domain XML with its image headers, and show the VM profile with its sources")
    .argument('[file]', 'the domain XML (virsh dumpxml output), - for stdin')
    .option('--virsh <name>', 'read it with `virsh dumpxml NAME`')
    .option('--qemu-conf <file>', 'qemu.conf to read (default: /etc/libvirt/qemu.conf)')
    .option(...LIBVIRT_VERSION_OPTION)
    .option('--json', 'print the DomainReport (shared/domain.ts)')
    .action(async (file: string | undefined, o: { virsh?: string; qemuConf?: string; libvirtVersion?: string; json?: boolean }) => {
      const input = await domainInput(file, o.virsh);
      const report = await openDomain({
        ...input,
        ...(o.qemuConf ? { qemuConf: o.qemuConf } : {}),
        ...(o.libvirtVersion ? { libvirtVersion: o.libvirtVersion } : {}),
      });
      await writeOut(o.json ? JSON.stringify(report, null, 2) + '\n' : renderDomain(report));
      if (report.disks.some((d) => d.differences.some((x) => x.severity === 'error'))) process.exitCode = EXIT_DIFFERENCES;
    });
}
