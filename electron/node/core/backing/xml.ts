// A structured source as libvirt's virDomainDiskSourceFormat writes `<source>` (the element
// only): the form libvirt's own tests state, and the one `export --libvirt-xml` writes.
import type { BackingHost, BackingSource } from './types.js';

export function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/'/g, '&apos;').replace(/"/g, '&quot;');
}

function hostXml(h: BackingHost): string {
  const a: string[] = [];
  if (h.name !== undefined) a.push(`name='${xmlEscape(h.name)}'`);
  if (h.port) a.push(`port='${h.port}'`);
  if (h.transport !== 'tcp') a.push(`transport='${h.transport}'`);
  if (h.socket !== undefined) a.push(`socket='${xmlEscape(h.socket)}'`);
  return `<host ${a.join(' ')}/>`;
}

function sliceXml(s: BackingSource['slice']): string[] {
  if (!s) return [];
  const a = [`type='storage'`];
  if (s.offset !== undefined) a.push(`offset='${s.offset}'`);
  if (s.size !== undefined) a.push(`size='${s.size}'`);
  return ['<slices>', `  <slice ${a.join(' ')}/>`, '</slices>'];
}

function element(open: string, inner: string[], indent: string): string[] {
  if (inner.length === 0) return [`${indent}<source ${open}/>`];
  return [`${indent}<source ${open}>`, ...inner.map((l) => `${indent}  ${l}`), `${indent}</source>`];
}

/** `<source ...>` lines for `src`, each prefixed by `indent`. Extra lines (a dataStore) go inside. */
export function sourceXml(src: BackingSource, indent = '', extra: string[] = []): string[] {
  switch (src.type) {
    case 'file':
    case 'block':
    case 'dir': {
      const attr = src.type === 'file' ? 'file' : src.type === 'block' ? 'dev' : 'dir';
      return element(`${attr}='${xmlEscape(src.path ?? '')}'`, [...sliceXml(src.slice), ...extra], indent);
    }
    case 'nvme': {
      const [dom, bus, rest] = (src.nvme?.device ?? '0000:00:00.0').split(':') as [string, string, string];
      const [slot, fn] = rest.split('.') as [string, string];
      const addr = `<address domain='0x${dom}' bus='0x${bus}' slot='0x${slot}' function='0x${fn}'/>`;
      return element(`type='pci' namespace='${src.nvme?.namespace ?? 0}'`, [addr, ...extra], indent);
    }
    case 'network': {
      const a = [`protocol='${xmlEscape(src.protocol ?? '')}'`];
      if (src.name !== undefined) a.push(`name='${xmlEscape(src.name)}'`);
      if (src.query !== undefined) a.push(`query='${xmlEscape(src.query)}'`);
      const inner = (src.hosts ?? []).map(hostXml);
      if (src.sslVerify !== undefined) inner.push(`<ssl verify='${src.sslVerify ? 'yes' : 'no'}'/>`);
      if (src.cookies?.length) {
        inner.push('<cookies>');
        for (const c of src.cookies) inner.push(`  <cookie name='${xmlEscape(c.name)}'>${xmlEscape(c.value)}</cookie>`);
        inner.push('</cookies>');
      }
      if (src.readahead !== undefined) inner.push(`<readahead size='${src.readahead}'/>`);
      if (src.timeout !== undefined) inner.push(`<timeout seconds='${src.timeout}'/>`);
      if (src.snapshot !== undefined) inner.push(`<snapshot name='${xmlEscape(src.snapshot)}'/>`);
      if (src.config !== undefined) inner.push(`<config file='${xmlEscape(src.config)}'/>`);
      if (src.identity) inner.push(`<identity user='${xmlEscape(src.identity.user)}' group='${xmlEscape(src.identity.group)}'/>`);
      inner.push(...sliceXml(src.slice), ...extra);
      return element(a.join(' '), inner, indent);
    }
  }
}
