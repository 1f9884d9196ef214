// Finding 9: a domain XML's values, tags and element counts are bounded before any tree is built
// (a 7 MiB attribute cost 367 MB), and a DOCTYPE is looked for outside comments, CDATA and
// processing instructions only.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDomainXml } from '../../electron/node/libvirt/domain-xml.js';
import {
  DomainXmlError,
  MAX_XML_ATTRIBUTES,
  MAX_XML_ELEMENTS,
  MAX_XML_ELEMENT_ATTRIBUTES,
  MAX_XML_VALUE,
} from '../../electron/node/libvirt/xml.js';
import { nodeArgsFor } from '../support/bin.js';
import { tempDir } from '../support/qemu.js';

const ORIGIN = '/srv/vm/evil.xml';
const parse = (xml: string) => () => parseDomainXml(xml, ORIGIN);
const disk = (file: string) => `<domain type='kvm'><name>v</name><devices>
<disk type='file' device='disk'>
<source file='${file}'/><target dev='vda'/></disk></devices></domain>`;

let tmp: { dir: string; cleanup: () => void };
beforeAll(() => {
  tmp = tempDir('diskchain-xml-limits-');
});
afterAll(() => tmp.cleanup());

describe('domain XML limits', () => {
  it('refuses a 7 MiB attribute value, naming the file, the line and the problem', () => {
    expect(parse(disk('/' + 'A'.repeat(7 << 20)))).toThrow(DomainXmlError);
    expect(parse(disk('/' + 'A'.repeat(7 << 20)))).toThrow(
      new RegExp(`^${ORIGIN}: line 3: an attribute value is longer than ${MAX_XML_VALUE} characters \\(refused\\)$`),
    );
    // Unterminated, it is refused for its length too, not handed to the validator.
    expect(parse(`<domain type='kvm'><name x="${'A'.repeat(7 << 20)}`)).toThrow(/attribute value is longer/);
    // At the limit it is a (strange) value like any other.
    expect(parseDomainXml(disk('/' + 'A'.repeat(MAX_XML_VALUE - 1)), ORIGIN).disks[0]!.xmlChain[0]!.path).toHaveLength(MAX_XML_VALUE);
  });

  it('parses the 7 MiB-attribute file within a 64 MB heap (the old parser needed over 128 MB)', () => {
    const xml = path.join(tmp.dir, 'big.xml');
    fs.writeFileSync(xml, disk('/' + 'A'.repeat(7 << 20)));
    const script = path.join(tmp.dir, 'parse.ts');
    const module = path.resolve(import.meta.dirname, '../../electron/node/libvirt/domain-xml.ts');
    fs.writeFileSync(
      script,
      `import * as fs from 'node:fs';
import { parseDomainXml } from ${JSON.stringify(module)};
try { parseDomainXml(fs.readFileSync(${JSON.stringify(xml)}, 'utf8'), 'big.xml'); console.log('parsed'); }
catch (e) { console.log((e as Error).message); }
`,
    );
    const r = spawnSync(process.execPath, ['--max-old-space-size=64', ...nodeArgsFor(script)], { encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr).not.toMatch(/heap out of memory/);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^big\.xml: line 3: an attribute value is longer than/);
  });

  it("refuses an element's text over the limit, counting every piece of it (CDATA included)", () => {
    const half = 'T'.repeat(MAX_XML_VALUE / 2 + 1);
    expect(parse(`<domain><description>${'T'.repeat(MAX_XML_VALUE + 1)}</description></domain>`)).toThrow(
      new RegExp(`^${ORIGIN}: line 1: an element's text is longer than ${MAX_XML_VALUE} characters`),
    );
    expect(parse(`<domain><description>${half}<!-- c --><![CDATA[${half}]]></description></domain>`)).toThrow(/element's text is longer/);
    expect(parse(`<domain><description>${half}<b/>${half}</description></domain>`)).toThrow(/element's text is longer/);
    // Text in sibling elements is counted for each on its own.
    expect(parseDomainXml(`<domain><description>${half}</description><title>${half}</title></domain>`, ORIGIN).name).toBeNull();
  });

  it(`refuses more than ${MAX_XML_ELEMENTS} elements`, () => {
    expect(parse(`<domain>${'<a/>'.repeat(MAX_XML_ELEMENTS)}</domain>`)).toThrow(
      new RegExp(`^${ORIGIN}: line 1: more than ${MAX_XML_ELEMENTS} elements \\(refused\\)$`),
    );
    expect(parseDomainXml(`<domain>${'<a/>'.repeat(MAX_XML_ELEMENTS - 1)}</domain>`, ORIGIN).disks).toEqual([]);
  });

  it('refuses too many attributes on one element, and in all', () => {
    const attrs = (n: number) => Array.from({ length: n }, (_, i) => `a${i}=''`).join(' ');
    expect(parse(`<domain ${attrs(MAX_XML_ELEMENT_ATTRIBUTES + 1)}/>`)).toThrow(
      new RegExp(`an element has more than ${MAX_XML_ELEMENT_ATTRIBUTES} attributes`),
    );
    const each = `<a ${attrs(MAX_XML_ELEMENT_ATTRIBUTES)}/>`;
    const n = Math.ceil((MAX_XML_ATTRIBUTES + 1) / MAX_XML_ELEMENT_ATTRIBUTES);
    expect(parse(`<domain>${each.repeat(n)}</domain>`)).toThrow(new RegExp(`more than ${MAX_XML_ATTRIBUTES} attributes`));
  });

  it('refuses a huge tag name or spacing inside a tag', () => {
    expect(parse(`<domain type='kvm'${' '.repeat(7 << 20)}><name>v</name></domain>`)).toThrow(/a tag is longer than/);
    expect(parse(`<domain><n${'n'.repeat(MAX_XML_VALUE)}/></domain>`)).toThrow(/a tag is longer than/);
    expect(parse(`<domain><name>v</name${' '.repeat(MAX_XML_VALUE)}></domain>`)).toThrow(/a tag is longer than/);
  });
});

describe('DOCTYPE detection', () => {
  const body = `<domain type='kvm'><name>v</name></domain>`;

  it('ignores <!DOCTYPE inside comments, CDATA and processing instructions', () => {
    expect(parseDomainXml(`<!-- made from <!DOCTYPE domain> by hand -->\n${body}`, ORIGIN).name).toBe('v');
    expect(parseDomainXml(`<?xml version="1.0"?><!-- <!ENTITY x "y"> -->${body}`, ORIGIN).name).toBe('v');
    expect(parseDomainXml(`<domain><name>v</name><!-- <!DOCTYPE x> --></domain>`, ORIGIN).name).toBe('v');
    expect(parseDomainXml(`<domain><name><![CDATA[<!DOCTYPE x>]]></name></domain>`, ORIGIN).name).toBe('<!DOCTYPE x>');
    expect(parseDomainXml(`<?note <!DOCTYPE x> ?>${body}`, ORIGIN).name).toBe('v');
  });

  it('still refuses a real DOCTYPE, also after comments', () => {
    const refused = /^\/srv\/vm\/evil\.xml: has a DOCTYPE or entity declaration/;
    expect(parse(`<!DOCTYPE domain>${body}`)).toThrow(refused);
    expect(parse(`<!-- a comment --><!DOCTYPE domain [<!ENTITY x "y">]>${body}`)).toThrow(refused);
    expect(parse(`<?xml version="1.0"?>\n<!-- <!-- -->\n<!-- two -->\n<!DOCTYPE d SYSTEM "file:///etc/passwd">${body}`)).toThrow(refused);
    expect(parse(`<!---->${body.replace('<name>', '<!ENTITY x "y"><name>')}`)).toThrow(refused);
  });

  it('refuses a comment left open (it would hide the rest of the document)', () => {
    expect(parse(`<!-- <!DOCTYPE x> ${body}`)).toThrow(/evil\.xml: not well-formed XML: line 1: a comment is not terminated/);
  });
});
