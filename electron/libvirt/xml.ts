// A domain XML is input from outside: bounded in size and nesting, no DTD and so no entity
// expansion, and every error names where the text came from.
import { XMLParser, XMLValidator } from 'fast-xml-parser';

/** `virsh dumpxml` of a large VM is tens of KiB; 8 MiB leaves room for 200-deep chains. */
export const MAX_XML_BYTES = 8 * 1024 * 1024;
/** Elements nested deeper than this are refused (domain > devices > disk > 200 backingStores > ...). */
export const MAX_XML_DEPTH = 260;

export class DomainXmlError extends Error {}

/** An element: attributes under `@`, children by name (always arrays), text under `#text`. */
export interface XmlElement {
  '@'?: Record<string, string>;
  '#text'?: string;
  [child: string]: unknown;
}

const ENTITY: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** The five XML entities and character references, in one pass (so `&amp;#65;` stays `&#65;`). */
export function decodeEntities(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(/&(#x[0-9A-Fa-f]{1,6}|#[0-9]{1,7}|[a-z]{2,4});/g, (m, ref: string) => {
    if (ref.startsWith('#')) {
      const cp = ref[1] === 'x' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      return cp > 0 && cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff) ? String.fromCodePoint(cp) : m;
    }
    return ENTITY[ref] ?? m;
  });
}

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '',
  attributesGroupName: '@',
  textNodeName: '#text',
  // No entity processing at all: DTDs are refused before parsing, and the five predefined
  // entities are decoded by decodeEntities (numeric references included).
  processEntities: false,
  htmlEntities: false,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
  allowBooleanAttributes: false,
  maxNestedTags: MAX_XML_DEPTH,
  isArray: (_name, _jpath, _isLeaf, isAttribute) => !isAttribute,
  attributeValueProcessor: (_name, value) => decodeEntities(value),
  tagValueProcessor: (_name, value) => decodeEntities(value),
});

/** Parse XML text from `origin` (a file name, '-', `virsh dumpxml NAME`) into its root element. */
export function parseXml(text: string, origin: string): { name: string; root: XmlElement } {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_XML_BYTES) {
    throw new DomainXmlError(`${origin}: ${bytes} bytes is more than a domain XML can be (limit ${MAX_XML_BYTES})`);
  }
  if (text.trim() === '') throw new DomainXmlError(`${origin}: empty, not a domain XML`);
  // libvirt never writes a DTD; one here could only serve entity tricks.
  if (/<!(DOCTYPE|ENTITY|ELEMENT|ATTLIST)/i.test(text)) {
    throw new DomainXmlError(`${origin}: has a DOCTYPE or entity declaration; a domain XML has none (refused)`);
  }
  const valid = XMLValidator.validate(text, { allowBooleanAttributes: false });
  if (valid !== true) {
    throw new DomainXmlError(`${origin}: not well-formed XML: line ${valid.err.line}, column ${valid.err.col}: ${valid.err.msg}`);
  }
  let doc: Record<string, unknown>;
  try {
    doc = parser.parse(text) as Record<string, unknown>;
  } catch (e) {
    const msg = (e as Error).message;
    if (/nested/i.test(msg)) throw new DomainXmlError(`${origin}: elements nested more than ${MAX_XML_DEPTH} deep (refused)`);
    throw new DomainXmlError(`${origin}: ${msg}`);
  }
  const names = Object.keys(doc).filter((k) => k !== '@' && k !== '#text');
  if (names.length !== 1) throw new DomainXmlError(`${origin}: expected one root element, found ${names.length}`);
  const name = names[0]!;
  const root = (doc[name] as XmlElement[])[0]!;
  return { name, root: typeof root === 'object' && root !== null ? root : { '#text': String(root) } };
}

/** The children named `name` (elements only; an empty element is `{}`). */
export function children(el: XmlElement | undefined, name: string): XmlElement[] {
  const v = el?.[name];
  if (!Array.isArray(v)) return [];
  return v.map((c) => (typeof c === 'object' && c !== null ? (c as XmlElement) : { '#text': String(c) }));
}

export function child(el: XmlElement | undefined, name: string): XmlElement | undefined {
  return children(el, name)[0];
}

export function attr(el: XmlElement | undefined, name: string): string | null {
  const v = el?.['@']?.[name];
  return typeof v === 'string' ? v : null;
}

export function text(el: XmlElement | undefined): string | null {
  if (!el) return null;
  const t = el['#text'];
  return typeof t === 'string' ? t : Object.keys(el).length === 0 ? '' : null;
}
