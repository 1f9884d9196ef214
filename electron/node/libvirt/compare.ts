// A disk's chain as the domain XML states it against the chain its headers give. libvirt reads
// headers only below the last level the XML lists (and not at all after <backingStore/>), so a
// stale XML chain is what libvirt labels and hands to qemu: every disagreement is flagged.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Difference, DomainDisk, HeaderLayer, XmlLayer } from '../../../shared/domain.js';
import type { BackingHost, BackingSource, ChainNode } from '../../../shared/model.js';

/** HeaderLayer itself carries the structured source now; the old name stays for existing imports. */
export type SourcedHeaderLayer = HeaderLayer;

/** The header chain of `root`, top first (a loop: chains can be deep). */
export function headerLayers(root: ChainNode): HeaderLayer[] {
  const out: HeaderLayer[] = [];
  const seen = new Set<ChainNode>();
  for (let n: ChainNode | null = root; n && !seen.has(n); n = n.backing) {
    seen.add(n);
    out.push({
      depth: out.length,
      path: n.path,
      name: n.name,
      format: n.format,
      formatSource: n.formatSource,
      dataFile: n.dataFile ? { path: n.dataFile.path, name: n.dataFile.name } : null,
      problems: [...n.problems, ...(n.dataFile?.problems ?? [])].map((p) => p.message),
      ...(n.nameInfo && n.nameInfo.kind !== 'file' && n.nameInfo.source ? { source: n.nameInfo.source } : {}),
    });
  }
  return out;
}

function real(p: string): string | null {
  try {
    return fs.realpathSync.native(p);
  } catch {
    return null;
  }
}

/** Whether the XML's path names the file the header chain found (by real path, else as joined). */
export function samePath(xmlPath: string, headerPath: string): boolean {
  if (xmlPath === headerPath) return true;
  const a = real(xmlPath);
  const b = real(headerPath);
  if (a !== null && b !== null) return a === b;
  return path.resolve(xmlPath) === path.resolve(headerPath);
}

function hostKey(h: BackingHost): string {
  return JSON.stringify([h.transport, h.name ?? null, h.port ?? 0, h.socket ?? null]);
}

/** Two network sources are one when libvirt would hand qemu the same server(s) and name. */
export function sameSource(a: BackingSource, b: BackingSource): boolean {
  const key = (s: BackingSource) =>
    JSON.stringify([
      s.type,
      s.protocol ?? null,
      s.name ?? null,
      s.query ?? null,
      s.snapshot ?? null,
      s.config ?? null,
      (s.hosts ?? []).map(hostKey),
    ]);
  return key(a) === key(b);
}

function describe(s: BackingSource): string {
  const hosts = (s.hosts ?? []).map((h) => (h.socket !== undefined ? `unix:${h.socket}` : `${h.name ?? ''}${h.port ? `:${h.port}` : ''}`));
  return `${s.protocol ?? s.type}://${hosts.join(',')}/${s.name ?? ''}`;
}

/** Whether an XML level names what a header level names: network sources structurally, files by path. */
function sameLevel(x: XmlLayer, h: HeaderLayer): boolean {
  if (x.source || h.source) return !!x.source && !!h.source && sameSource(x.source, h.source);
  return x.path !== null && samePath(x.path, h.path);
}

/** qemu opens ISO 9660 as raw; diskchain names it iso. */
function sameFormat(xml: string, header: string | null): boolean {
  const h = header === 'iso' ? 'raw' : header;
  return xml === h;
}

function levelName(depth: number): string {
  return depth === 0 ? 'the disk source' : `backing level ${depth}`;
}

function compareDataFile(x: XmlLayer, h: HeaderLayer, libvirtProbesHere: boolean, out: Difference[]): void {
  const ds = x.dataStore;
  const where = levelName(x.depth);
  if (ds && ds.format && ds.format !== 'raw') {
    out.push({
      code: 'data-file-format',
      severity: 'warning',
      depth: x.depth,
      message: `${where}: <dataStore> format is '${ds.format}'; qemu's data files are raw`,
    });
  }
  if (ds && !h.dataFile) {
    out.push({
      code: 'data-file-extra',
      severity: 'error',
      depth: x.depth,
      message: `${where}: the XML names data file ${ds.display}, but the header of ${h.path} names none`,
    });
  } else if (!ds && h.dataFile) {
    out.push(
      libvirtProbesHere
        ? {
            code: 'data-file-missing',
            severity: 'info',
            depth: x.depth,
            message: `${where}: the XML has no <dataStore>; libvirt reads data file ${h.dataFile.path} from the header of ${h.path}`,
          }
        : {
            code: 'data-file-missing',
            severity: 'warning',
            depth: x.depth,
            message: `${where}: the header of ${h.path} names data file ${h.dataFile.path}, the XML's <source> has no <dataStore>: libvirt uses the chain as the XML states it and may leave that file unlabelled`,
          },
    );
  } else if (ds && h.dataFile) {
    if (ds.path === null || !samePath(ds.path, h.dataFile.path)) {
      out.push({
        code: 'data-file-differs',
        severity: 'error',
        depth: x.depth,
        message: `${where}: the XML's data file is ${ds.display}, the header of ${h.path} names ${h.dataFile.path}`,
      });
    }
  }
}

/** The differences between a disk's XML chain and its header chain. */
export function compareChains(disk: Pick<DomainDisk, 'xmlChain' | 'xmlChainEnd'>, header: HeaderLayer[]): Difference[] {
  const out: Difference[] = [];
  const xml = disk.xmlChain;
  if (xml.length === 1 && disk.xmlChainEnd === 'open') {
    out.push({
      code: 'probed-chain',
      severity: 'info',
      depth: null,
      message: 'the XML lists no <backingStore>: libvirt reads the chain from the image headers when the VM starts',
    });
  }
  const problems = (h: HeaderLayer) => {
    for (const p of h.problems)
      out.push({ code: 'header-problem', severity: 'warning', depth: h.depth, message: `${levelName(h.depth)}: ${p}` });
  };
  let i = 0;
  let j = 0;
  let terminatedSeen = false;
  while (i < xml.length || j < header.length) {
    const x = xml[i];
    const h = header[j];
    if (x && h) {
      if (!sameLevel(x, h)) {
        // One level skipped on either side keeps the rest aligned (a removed or added snapshot).
        const nextH = header[j + 1];
        const nextX = xml[i + 1];
        if (x.path !== null && nextH && samePath(x.path, nextH.path)) {
          out.push({
            code: 'missing-level',
            severity: 'error',
            depth: h.depth,
            message: `${levelName(h.depth)}: the headers have ${h.path} here, the XML's chain skips it`,
          });
          problems(h);
          j++;
          continue;
        }
        if (nextX?.path && samePath(nextX.path, h.path)) {
          out.push({
            code: 'extra-level',
            severity: 'error',
            depth: x.depth,
            message: `${levelName(x.depth)}: the XML lists ${x.display}, which is not in the headers' chain`,
          });
          i++;
          continue;
        }
        const namer = j === 0 ? 'disk' : `header of ${header[j - 1]!.path}`;
        out.push({
          code: 'path-differs',
          severity: 'error',
          depth: x.depth,
          message: `${levelName(x.depth)}: the XML names ${x.source ? describe(x.source) : (x.path ?? x.display)}, the ${namer} names ${h.source ? describe(h.source) : h.path}`,
        });
      }
      const xf = x.format ?? (x.depth === 0 ? 'raw' : null);
      if (xf !== null && h.format !== null && !sameFormat(xf, h.format)) {
        const said = x.format === null ? 'no <driver type> (libvirt uses raw)' : `format '${x.format}'`;
        out.push({
          code: 'format-differs',
          severity: 'error',
          depth: x.depth,
          message: `${levelName(x.depth)}: the XML states ${said}, the ${x.depth === 0 ? 'file' : 'header'} says ${h.format}${h.formatSource === 'probed' ? ' (probed)' : ''}`,
        });
      }
      compareDataFile(x, h, disk.xmlChainEnd === 'open' && i === xml.length - 1, out);
      problems(h);
      i++;
      j++;
    } else if (x) {
      out.push({
        code: 'extra-level',
        severity: 'error',
        depth: x.depth,
        message: `${levelName(x.depth)}: the XML lists ${x.display}, but the headers' chain ends at ${header[header.length - 1]?.path ?? 'nothing'}`,
      });
      i++;
    } else if (h) {
      if (disk.xmlChainEnd === 'terminated') {
        out.push(
          terminatedSeen
            ? {
                code: 'missing-level',
                severity: 'error',
                depth: h.depth,
                message: `${levelName(h.depth)}: ${h.path} is in the headers' chain but not in the XML's`,
              }
            : {
                code: 'terminated-early',
                severity: 'error',
                depth: h.depth,
                message: `<backingStore/> ends the chain after ${xml[xml.length - 1]?.display ?? '?'}, but its header names backing file ${h.path}: qemu would run the overlay without its base`,
              },
        );
        terminatedSeen = true;
      } else {
        if (j === xml.length && xml.length > 1) {
          out.push({
            code: 'probed-chain',
            severity: 'info',
            depth: h.depth,
            message: `the XML's chain stops without <backingStore/>: libvirt reads ${h.path} and below from the headers`,
          });
        }
        problems(h);
      }
      j++;
    }
  }
  return out;
}
