// Network backing layers against libvirt's own XML for them: `domain` compares structured
// sources (so libvirt's <source protocol name><host/></source> forms compare equal), and
// `export` writes those forms and qemu's protocol nodes for them.
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseBacking } from '../../electron/node/core/backing/index.js';
import { inspect } from '../../electron/node/core/chain.js';
import { compareChains, headerLayers, type SourcedHeaderLayer } from '../../electron/node/libvirt/compare.js';
import { parseDomainXml, type SourcedXmlLayer } from '../../electron/node/libvirt/domain-xml.js';
import { blockdevNodes, diskXml } from '../../electron/node/libvirt/export.js';
import { qemuImg, tempDir } from '../support/qemu.js';

function disk(top: string, backing: string): ReturnType<typeof parseDomainXml>['disks'][number] {
  const xml = `<domain type='kvm'><name>x</name><devices><disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${top}'/><backingStore type='network'><format type='raw'/>${backing}<backingStore/></backingStore><target dev='vda' bus='virtio'/></disk></devices></domain>`;
  return parseDomainXml(xml, 'test').disks[0]!;
}

/** A header chain of a (never read) top file and the layer its header names. */
function header(top: string, name: string): SourcedHeaderLayer[] {
  const layer = (depth: number, p: string): SourcedHeaderLayer => ({
    depth,
    path: p,
    name: p,
    format: depth ? 'raw' : 'qcow2',
    formatSource: 'header',
    dataFile: null,
    problems: [],
  });
  return [layer(0, top), { ...layer(1, name), source: parseBacking(name).source }];
}

// libvirt's backing-parse cases (tests/virstoragetest.c) with a network result: the name as a
// header holds it, and the <source> libvirt formats for it.
const FORMS: [name: string, xml: string][] = [
  ['http://example.com/file', "<source protocol='http' name='file'><host name='example.com' port='80'/></source>"],
  ['http://example.com', "<source protocol='http' name=''><host name='example.com' port='80'/></source>"],
  ['rbd:testshare:id=asdf:mon_host=example.com', "<source protocol='rbd' name='testshare'><host name='example.com'/></source>"],
  ['nbd:example.org:6000:exportname=blah', "<source protocol='nbd' name='blah'><host name='example.org' port='6000'/></source>"],
  ['nbd:[::1]:6000:exportname=:test', "<source protocol='nbd' name=':test'><host name='::1' port='6000'/></source>"],
  ['nbd:unix:/tmp/sock:exportname=/', "<source protocol='nbd' name='/'><host transport='unix' socket='/tmp/sock'/></source>"],
  ['nbd://example.org:1234', "<source protocol='nbd'><host name='example.org' port='1234'/></source>"],
  ['nbd+unix:////exp?socket=/tmp/sock', "<source protocol='nbd' name='/exp'><host transport='unix' socket='/tmp/sock'/></source>"],
  ['iscsi://example.org:1234/exportname', "<source protocol='iscsi' name='exportname'><host name='example.org' port='1234'/></source>"],
  ['gluster://example.com/vol/file', "<source protocol='gluster' name='vol/file'><host name='example.com' port='24007'/></source>"],
  // libvirt fills in default ports when it starts the VM: a <host> without one is the same server.
  ['gluster://example.com/vol/file', "<source protocol='gluster' name='vol/file'><host name='example.com'/></source>"],
  [
    'json:{"file":{"driver":"ssh","host":"example.org","port":"6000","path":"blah","user":"user"}}',
    "<source protocol='ssh' name='blah'><host name='example.org' port='6000'/></source>",
  ],
  [
    'json:{"file":{"driver":"rbd","image":"test","pool":"libvirt","conf":"/path/to/conf","snapshot":"snapshotname","server":[{"host":"example.com","port":"1234"},{"host":"example2.com"}]}}',
    "<source protocol='rbd' name='libvirt/test'><host name='example.com' port='1234'/><host name='example2.com'/><snapshot name='snapshotname'/><config file='/path/to/conf'/></source>",
  ],
  [
    'json:{"file":{"driver":"sheepdog","vdi":"test","server":{"type":"inet","host":"example.com","port":"321"}}}',
    "<source protocol='sheepdog' name='test'><host name='example.com' port='321'/></source>",
  ],
  [
    'json:{"file":{"driver":"vxhs","vdisk-id":"c6718f6b","server":{"host":"example.com","port":"9999"}}}',
    "<source protocol='vxhs' name='c6718f6b'><host name='example.com' port='9999'/></source>",
  ],
  [
    'json:{"file":{"driver":"nfs","user":2,"group":9,"path":"/foo/bar/baz","server":{"host":"example.com","type":"inet"}}}',
    "<source protocol='nfs' name='/foo/bar/baz'><host name='example.com'/></source>",
  ],
  [
    'json:{"file":{"driver":"iscsi","transport":"tcp","portal":"test.org","target":"iqn.2016-12.com.virttest:emulated-iscsi-noauth.target"}}',
    "<source protocol='iscsi' name='iqn.2016-12.com.virttest:emulated-iscsi-noauth.target/0'><host name='test.org' port='3260'/></source>",
  ],
];

describe("domain: libvirt's XML forms of network backing compare equal", () => {
  it.each(FORMS)('%s', (name, xml) => {
    const d = disk('/nonexistent/top.qcow2', xml);
    expect((d.xmlChain[1] as SourcedXmlLayer).source).toBeDefined();
    expect(compareChains(d, header('/nonexistent/top.qcow2', name))).toEqual([]);
  });

  it.each([
    [
      'another port',
      'nbd:example.org:6000:exportname=blah',
      "<source protocol='nbd' name='blah'><host name='example.org' port='6001'/></source>",
    ],
    [
      'another export',
      'nbd:example.org:6000:exportname=blah',
      "<source protocol='nbd' name='other'><host name='example.org' port='6000'/></source>",
    ],
    ['another protocol', 'http://example.com/file', "<source protocol='https' name='file'><host name='example.com' port='443'/></source>"],
    ['a unix socket for a tcp host', 'nbd:unix:/tmp/sock', "<source protocol='nbd'><host name='example.org'/></source>"],
    ['a second host', 'rbd:t:mon_host=a', "<source protocol='rbd' name='t'><host name='a'/><host name='b'/></source>"],
  ])('%s is path-differs', (_what, name, xml) => {
    const diffs = compareChains(disk('/nonexistent/top.qcow2', xml), header('/nonexistent/top.qcow2', name));
    expect(diffs.map((x) => x.code)).toEqual(['path-differs']);
  });
});

let tmp: { dir: string; cleanup: () => void };
beforeAll(() => {
  tmp = tempDir('diskchain-backing-domain-');
  qemuImg(tmp.dir, 'create', '-q', '-f', 'qcow2', '-u', '-F', 'raw', '-b', 'nbd:example.org:6000:exportname=blah', 'colon.qcow2', '1M');
  qemuImg(
    tmp.dir,
    'create',
    '-q',
    '-f',
    'qcow2',
    '-u',
    '-F',
    'raw',
    '-b',
    'json:{"file":{"driver":"nbd","export":"blah","server":{"type":"inet","host":"example.org","port":"6000"}}}',
    'json.qcow2',
    '1M',
  );
});
afterAll(() => tmp.cleanup());

describe('domain and export over qemu-img images with network backing', () => {
  it('the header chain of a real image compares equal to libvirt XML', () => {
    const top = path.join(tmp.dir, 'colon.qcow2');
    const xml = "<source protocol='nbd' name='blah'><host name='example.org' port='6000'/></source>";
    expect(compareChains(disk(top, xml), headerLayers(inspect(top))).filter((x) => x.severity === 'error')).toEqual([]);
  });

  it('--libvirt-xml writes the network layer, and it parses back equal', () => {
    const root = inspect(path.join(tmp.dir, 'json.qcow2'));
    const xml = diskXml(root);
    expect(xml).toContain(
      [
        "  <backingStore type='network'>",
        "    <format type='raw'/>",
        "    <source protocol='nbd' name='blah'>",
        "      <host name='example.org' port='6000'/>",
        '    </source>',
        '    <backingStore/>',
        '  </backingStore>',
      ].join('\n'),
    );
    const d = parseDomainXml(`<domain type='kvm'><name>x</name><devices>${xml}</devices></domain>`, 'exported').disks[0]!;
    expect(compareChains(d, headerLayers(root)).filter((x) => x.severity === 'error')).toEqual([]);
  });

  it('--blockdev writes the nbd protocol node under the format node', () => {
    const nodes = blockdevNodes(inspect(path.join(tmp.dir, 'json.qcow2')));
    expect(nodes.slice(0, 2)).toEqual([
      {
        driver: 'nbd',
        server: { type: 'inet', host: 'example.org', port: '6000' },
        export: 'blah',
        'node-name': 'libvirt-1-storage',
        'auto-read-only': true,
        discard: 'unmap',
      },
      { 'node-name': 'libvirt-1-format', 'read-only': true, driver: 'raw', file: 'libvirt-1-storage' },
    ]);
    expect(nodes[3]).toMatchObject({ driver: 'qcow2', backing: 'libvirt-1-format' });
  });

  it('a layer libvirt refuses is still not exported', () => {
    qemuImg(tmp.dir, 'create', '-q', '-f', 'qcow2', '-u', '-F', 'raw', '-b', 'foo:bar', 'bad.qcow2', '1M');
    expect(() => diskXml(inspect(path.join(tmp.dir, 'bad.qcow2')))).toThrow(/libvirt refuses .*invalid backing protocol 'foo'/);
  });
});
