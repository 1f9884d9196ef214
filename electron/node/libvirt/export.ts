// A chain, written the two ways libvirt and qemu take one explicitly:
// - the <disk> element with nested <backingStore> and, inside <source>, <dataStore> (libvirt
//   10.10+), ending in <backingStore/> so libvirt uses exactly this chain;
// - qemu's -blockdev nodes as libvirt makes them: a protocol node (libvirt-N-storage) and a
//   format node (libvirt-N-format) per image, the data file as its own protocol node referenced
//   by "data-file", backing images read-only, defined base first so every reference resolves.
// Network layers (a header naming nbd:, rbd:, json:{"driver":"nbd",...}...) are written as
// libvirt's <source protocol name><host/></source> and as qemu's protocol node for them.
import type { BackingSource, ChainNode } from '../../../shared/model.js';
import { blockdevProps } from '../core/backing/blockdev.js';
import { sourceXml as backingSourceXml, xmlEscape as esc } from '../core/backing/xml.js';

export interface ExportOptions {
  /** `<target dev>` (default vda). */
  target?: string;
  /** `<target bus>` (default virtio). */
  bus?: string;
  /** The disk is read-only: the top is opened read-only too. */
  readonly?: boolean;
}

interface Layer {
  path: string;
  format: string;
  dataFile: string | null;
  /** A network layer: where qemu connects (never opened here). */
  network?: BackingSource;
}

/** The chain's images top first, refusing what cannot be written as local files. */
export function exportLayers(root: ChainNode): Layer[] {
  const out: Layer[] = [];
  const seen = new Set<ChainNode>();
  for (let n: ChainNode | null = root; n && !seen.has(n); n = n.backing) {
    seen.add(n);
    const what = n === root ? 'the top image' : `backing level ${out.length}`;
    const net = n.nameInfo?.kind === 'network' ? n.nameInfo.source : undefined;
    if (net) {
      if (!n.format) throw new Error(`${what} is '${n.name}': its parent's header records no backing format, which libvirt needs`);
      out.push({ path: n.name, format: n.format === 'iso' ? 'raw' : n.format, dataFile: null, network: net });
      continue;
    }
    if (n.nameInfo && n.nameInfo.kind !== 'file')
      throw new Error(
        `${what} is '${n.name}', a ${n.nameInfo.kind} name${n.nameInfo.sourceError ? ` libvirt refuses (${n.nameInfo.sourceError})` : ''}: it cannot be exported`,
      );
    if (!n.format)
      throw new Error(`${what} ${n.path} could not be read (${n.problems.map((p) => p.message).join('; ') || 'unknown format'})`);
    if (n.dataFile?.nameInfo && n.dataFile.nameInfo.kind !== 'file')
      throw new Error(`the data file of ${n.path} is '${n.dataFile.name}', not a local file`);
    out.push({ path: n.path, format: n.format === 'iso' ? 'raw' : n.format, dataFile: n.dataFile?.path ?? null });
  }
  return out;
}

function sourceXml(l: Layer, indent: string): string[] {
  if (l.network) return backingSourceXml(l.network, indent);
  const dataStore = l.dataFile
    ? [`<dataStore type='file'>`, `  <format type='raw'/>`, `  <source file='${esc(l.dataFile)}'/>`, `</dataStore>`]
    : [];
  return backingSourceXml({ type: 'file', path: l.path }, indent, dataStore);
}

/** The `<disk>` element for the chain of `root`. */
export function diskXml(root: ChainNode, opts: ExportOptions = {}): string {
  const layers = exportLayers(root);
  const top = layers[0]!;
  const lines = [`<disk type='file' device='disk'>`, `  <driver name='qemu' type='${esc(top.format)}'/>`, ...sourceXml(top, '  ')];
  // Nested, but written with a loop: a chain 200 deep is 200 levels of indentation.
  let indent = '  ';
  for (const l of layers.slice(1)) {
    lines.push(`${indent}<backingStore type='${l.network ? 'network' : 'file'}'>`);
    indent += '  ';
    lines.push(`${indent}<format type='${esc(l.format)}'/>`, ...sourceXml(l, indent));
  }
  lines.push(`${indent}<backingStore/>`);
  for (let i = layers.length - 1; i >= 1; i--) {
    indent = indent.slice(2);
    lines.push(`${indent}</backingStore>`);
  }
  lines.push(`  <target dev='${esc(opts.target ?? 'vda')}' bus='${esc(opts.bus ?? 'virtio')}'/>`);
  if (opts.readonly) lines.push('  <readonly/>');
  lines.push('</disk>');
  return lines.join('\n') + '\n';
}

export type BlockdevNode = Record<string, unknown> & { 'node-name': string; driver: string };

/** The -blockdev nodes for the chain, base first (each defined before it is referenced). */
export function blockdevNodes(root: ChainNode, opts: ExportOptions = {}): BlockdevNode[] {
  const layers = exportLayers(root);
  const nodes: BlockdevNode[] = [];
  let index = 0;
  let below: string | null = null;
  for (let d = layers.length - 1; d >= 0; d--) {
    const l = layers[d]!;
    const readOnly = d > 0 || !!opts.readonly;
    let dataNode: string | null = null;
    if (l.dataFile) {
      dataNode = `libvirt-${++index}-storage`;
      nodes.push({ driver: 'file', filename: l.dataFile, 'node-name': dataNode, 'auto-read-only': true, discard: 'unmap' });
    }
    const n = ++index;
    const storage = l.network ? blockdevProps(l.network) : { driver: 'file', filename: l.path };
    nodes.push({ ...storage, 'node-name': `libvirt-${n}-storage`, 'auto-read-only': true, discard: 'unmap' });
    const fmt: BlockdevNode = { 'node-name': `libvirt-${n}-format`, 'read-only': readOnly, driver: l.format, file: `libvirt-${n}-storage` };
    if (dataNode) fmt['data-file'] = dataNode;
    // Only formats with a backing file take the option; raw and luks would refuse it.
    if (['qcow2', 'qcow', 'qed', 'vmdk'].includes(l.format)) fmt.backing = below;
    nodes.push(fmt);
    below = fmt['node-name'];
  }
  return nodes;
}

/** Shell-quoted `-blockdev '{...}'` arguments, one per line, joined by line continuations. */
export function blockdevArgs(nodes: BlockdevNode[]): string {
  return nodes.map((n) => `-blockdev '${JSON.stringify(n).replace(/'/g, "'\\''")}'`).join(' \\\n') + '\n';
}

/**
 * The same chain as one nested `json:{...}` filename (references replaced by the nodes they
 * name), which qemu-img and qemu-io open: a way to check the nodes with qemu itself.
 */
export function nestedJson(nodes: BlockdevNode[]): Record<string, unknown> {
  const byName = new Map(nodes.map((n) => [n['node-name'], n]));
  const referenced = new Set<string>();
  for (const n of nodes) for (const k of ['file', 'data-file', 'backing']) if (typeof n[k] === 'string') referenced.add(n[k] as string);
  const tops = nodes.filter((n) => !referenced.has(n['node-name']));
  if (tops.length !== 1) throw new Error(`expected one top node, found ${tops.length}`);
  const built = new Map<string, Record<string, unknown>>();
  // Nodes come base first, so each reference is already built when it is met.
  for (const n of nodes) {
    const o: Record<string, unknown> = { ...n };
    for (const k of ['file', 'data-file', 'backing']) {
      const ref = n[k];
      if (typeof ref !== 'string') continue;
      const target = built.get(ref);
      if (!target || !byName.has(ref)) throw new Error(`node ${n['node-name']} refers to ${ref}, defined after it or not at all`);
      o[k] = target;
    }
    built.set(n['node-name'], o);
  }
  return built.get(tops[0]!['node-name'])!;
}
