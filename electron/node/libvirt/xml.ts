// A domain XML is input from outside: bounded in size, nesting, element count and value length,
// no DTD and so no entity expansion, and every error names where the text came from.
import { XMLParser, XMLValidator } from 'fast-xml-parser';

/** `virsh dumpxml` of a large VM is tens of KiB; 8 MiB leaves room for 200-deep chains. */
export const MAX_XML_BYTES = 8 * 1024 * 1024;
/** Elements nested deeper than this are refused (domain > devices > disk > 200 backingStores > ...). */
export const MAX_XML_DEPTH = 260;
/**
 * The longest attribute value or element text, in UTF-16 units (a path is at most 4 KiB, a label
 * far less). The tree the parser builds costs tens of times the text: a 7 MiB attribute cost
 * 367 MB, so values and counts are bounded before any tree exists.
 */
export const MAX_XML_VALUE = 64 * 1024;
/** Elements in the whole document: a domain with dozens of 200-deep chains has thousands. */
export const MAX_XML_ELEMENTS = 100_000;
/** Attributes in the whole document. */
export const MAX_XML_ATTRIBUTES = 200_000;
/** Attributes on one element (libvirt's have a handful; 200,000 on one cost 320 MB). */
export const MAX_XML_ELEMENT_ATTRIBUTES = 256;

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

function lineOf(text: string, at: number): number {
  let line = 1;
  for (let i = text.indexOf('\n'); i >= 0 && i < at; i = text.indexOf('\n', i + 1)) line++;
  return line;
}

const TAG_PARTS = /["'>]/g;

/**
 * One linear pass over the text before the validator or the parser builds anything: refuses a
 * DOCTYPE or other declaration (but not one inside a comment, CDATA or processing instruction),
 * too many elements or attributes, too deep a nesting, and too long an attribute value or element
 * text. Well-formedness is the validator's job; this pass only finds where markup starts and
 * ends, and refuses what is left unterminated so that nothing larger than a bound reaches it.
 */
function prescan(text: string, origin: string): void {
  const fail = (at: number, what: string): never => {
    throw new DomainXmlError(`${origin}: line ${lineOf(text, at)}: ${what} (refused)`);
  };
  // Names and spacing inside a tag: as costly to the parser as a value when huge.
  const tagMarkup = (at: number, n: number) => {
    if (n > MAX_XML_VALUE) fail(at, `a tag is longer than ${MAX_XML_VALUE} characters besides its attribute values`);
  };
  const unterminated = (at: number, what: string): never => {
    throw new DomainXmlError(`${origin}: not well-formed XML: line ${lineOf(text, at)}: ${what} is not terminated`);
  };
  // Text length so far of each open element; [0] is the text around the root element.
  const textLength: number[] = [0];
  const addText = (at: number, n: number) => {
    const top = textLength.length - 1;
    textLength[top] = textLength[top]! + n;
    if (textLength[top]! > MAX_XML_VALUE) fail(at, `an element's text is longer than ${MAX_XML_VALUE} characters`);
  };
  let elements = 0;
  let attributes = 0;
  let i = 0;
  while (i < text.length) {
    const lt = text.indexOf('<', i);
    addText(i, (lt < 0 ? text.length : lt) - i);
    if (lt < 0) break;
    if (text.startsWith('<!--', lt)) {
      const end = text.indexOf('-->', lt + 4);
      if (end < 0) unterminated(lt, 'a comment');
      i = end + 3;
    } else if (text.startsWith('<![CDATA[', lt)) {
      const end = text.indexOf(']]>', lt + 9);
      if (end < 0) unterminated(lt, 'a CDATA section');
      addText(lt, end - lt - 9);
      i = end + 3;
    } else if (text.startsWith('<?', lt)) {
      const end = text.indexOf('?>', lt + 2);
      if (end < 0) unterminated(lt, 'a processing instruction');
      i = end + 2;
    } else if (text.startsWith('<!', lt)) {
      // libvirt never writes a DTD; one here could only serve entity tricks.
      throw new DomainXmlError(`${origin}: has a DOCTYPE or entity declaration; a domain XML has none (refused)`);
    } else if (text.startsWith('</', lt)) {
      const end = text.indexOf('>', lt + 2);
      if (end < 0) unterminated(lt, 'an end tag');
      tagMarkup(lt, end - lt);
      if (textLength.length > 1) textLength.pop();
      i = end + 1;
    } else {
      if (++elements > MAX_XML_ELEMENTS) fail(lt, `more than ${MAX_XML_ELEMENTS} elements`);
      // A start tag ends at the first '>' outside a quoted attribute value.
      let at = lt + 1;
      let end: number;
      let own = 0;
      let markup = 0;
      for (;;) {
        TAG_PARTS.lastIndex = at;
        const m = TAG_PARTS.exec(text);
        const k = m ? m.index : text.length;
        markup += k - at;
        tagMarkup(lt, markup);
        if (!m) return unterminated(lt, 'a start tag');
        if (text[k] === '>') {
          end = k;
          break;
        }
        const close = text.indexOf(text[k]!, k + 1);
        const length = (close < 0 ? text.length : close) - k - 1;
        if (length > MAX_XML_VALUE) fail(k, `an attribute value is longer than ${MAX_XML_VALUE} characters`);
        if (close < 0) unterminated(k, 'an attribute value');
        if (++own > MAX_XML_ELEMENT_ATTRIBUTES) fail(k, `an element has more than ${MAX_XML_ELEMENT_ATTRIBUTES} attributes`);
        if (++attributes > MAX_XML_ATTRIBUTES) fail(k, `more than ${MAX_XML_ATTRIBUTES} attributes`);
        at = close + 1;
      }
      if (text[end - 1] !== '/') {
        textLength.push(0);
        if (textLength.length - 1 > MAX_XML_DEPTH) {
          throw new DomainXmlError(`${origin}: elements nested more than ${MAX_XML_DEPTH} deep (refused)`);
        }
      }
      i = end + 1;
    }
  }
}

/** Parse XML text from `origin` (a file name, '-', `virsh dumpxml NAME`) into its root element. */
export function parseXml(text: string, origin: string): { name: string; root: XmlElement } {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_XML_BYTES) {
    throw new DomainXmlError(`${origin}: ${bytes} bytes is more than a domain XML can be (limit ${MAX_XML_BYTES})`);
  }
  if (text.trim() === '') throw new DomainXmlError(`${origin}: empty, not a domain XML`);
  prescan(text, origin);
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
