// libvirt's backing-name parser, case by case: the inputs and expected `<source>` XML of
// libvirt's tests/virstoragetest.c (testBackingParse), then cases for each rule of
// storage_source_backingstore.c (default ports, transports, each driver's refusals), and the
// bounds on hostile json: text. Each case is one `it`.
import { describe, expect, it } from 'vitest';
import { parseBacking, sourceXml, tryParseBacking } from '../../electron/node/core/backing/index.js';
import { MAX_JSON_BYTES } from '../../electron/node/core/backing/json-value.js';

/** libvirt's formatted `<source>`, or null for a refusal; `auth`: libvirt's return value 1. */
type Case = [name: string, xml: string | null, auth?: boolean];

const net = (open: string, ...inner: string[]) =>
  inner.length ? [`<source ${open}>`, ...inner.map((l) => `  ${l}`), '</source>'].join('\n') : `<source ${open}/>`;
const j = (o: unknown) => `json:${JSON.stringify(o)}`;

function check([name, xml, auth]: Case): void {
  const r = tryParseBacking(name);
  if (xml === null) {
    expect(r).toHaveProperty('error');
    return;
  }
  if ('error' in r) throw new Error(`refused: ${r.error}`);
  expect(sourceXml(r.source).join('\n')).toBe(xml);
  expect(r.inlineAuth).toBe(!!auth);
}

// tests/virstoragetest.c, TEST_BACKING_PARSE and TEST_BACKING_PARSE_FULL, in order.
const LIBVIRT: Case[] = [
  ['path', "<source file='path'/>"],
  ['fat:/somedir', "<source dir='/somedir'/>"],
  ['://', null],
  ['http://example.com', net("protocol='http' name=''", "<host name='example.com' port='80'/>")],
  ['http://example.com/', net("protocol='http' name=''", "<host name='example.com' port='80'/>")],
  ['http://example.com/file', net("protocol='http' name='file'", "<host name='example.com' port='80'/>")],
  ['http://user:pass@example.com/file', net("protocol='http' name='file'", "<host name='example.com' port='80'/>"), true],
  ['rbd:testshare:id=asdf:mon_host=example.com', net("protocol='rbd' name='testshare'", "<host name='example.com'/>")],
  ['nbd:example.org:6000:exportname=blah', net("protocol='nbd' name='blah'", "<host name='example.org' port='6000'/>")],
  ['nbd:example.org:6000:exportname=:', net("protocol='nbd' name=':'", "<host name='example.org' port='6000'/>")],
  ['nbd:example.org:6000:exportname=:test', net("protocol='nbd' name=':test'", "<host name='example.org' port='6000'/>")],
  ['nbd:[::1]:6000:exportname=:test', net("protocol='nbd' name=':test'", "<host name='::1' port='6000'/>")],
  ['nbd:127.0.0.1:6000:exportname=:test', net("protocol='nbd' name=':test'", "<host name='127.0.0.1' port='6000'/>")],
  ['nbd:unix:/tmp/sock:exportname=/', net("protocol='nbd' name='/'", "<host transport='unix' socket='/tmp/sock'/>")],
  ['nbd:unix:/tmp/sock:', net("protocol='nbd'", "<host transport='unix' socket='/tmp/sock:'/>")],
  ['nbd:unix:/tmp/sock::exportname=:', net("protocol='nbd' name=':'", "<host transport='unix' socket='/tmp/sock:'/>")],
  ['nbd://example.org:1234', net("protocol='nbd'", "<host name='example.org' port='1234'/>")],
  ['nbd://example.org:1234/', net("protocol='nbd'", "<host name='example.org' port='1234'/>")],
  ['nbd://example.org:1234/exportname', net("protocol='nbd' name='exportname'", "<host name='example.org' port='1234'/>")],
  ['nbd+unix://?socket=/tmp/sock', net("protocol='nbd'", "<host transport='unix' socket='/tmp/sock'/>")],
  ['nbd+unix:///?socket=/tmp/sock', net("protocol='nbd'", "<host transport='unix' socket='/tmp/sock'/>")],
  ['nbd+unix:////?socket=/tmp/sock', net("protocol='nbd' name='/'", "<host transport='unix' socket='/tmp/sock'/>")],
  ['nbd+unix:///exp?socket=/tmp/sock', net("protocol='nbd' name='exp'", "<host transport='unix' socket='/tmp/sock'/>")],
  ['nbd+unix:////exp?socket=/tmp/sock', net("protocol='nbd' name='/exp'", "<host transport='unix' socket='/tmp/sock'/>")],
  [
    'iscsi://testuser:testpass@example.org:1234/exportname',
    net("protocol='iscsi' name='exportname'", "<host name='example.org' port='1234'/>"),
    true,
  ],
  ['json:', null],
  ['json:asdgsdfg', null],
  ['json:{}', null],
  ['json: { "file.driver":"blah"}', null],
  ['json:{"file.driver":"file"}', null],
  ['json:{"file.driver":"file", "file.filename":"/path/to/file"}', "<source file='/path/to/file'/>"],
  ['json:{"file.driver":"file", "filename":"/path/to/file"}', null],
  ['json:{"file" : { "driver":"file","filename":"/path/to/file"}}', "<source file='/path/to/file'/>"],
  ['json:{"driver":"file","filename":"/path/to/file"}', "<source file='/path/to/file'/>"],
  ['json:{"file.driver":"host_device", "file.filename":"/path/to/dev"}', "<source dev='/path/to/dev'/>"],
  ['json:{"file.driver":"host_cdrom", "file.filename":"/path/to/cdrom"}', "<source dev='/path/to/cdrom'/>"],
  [
    'json:{"file.driver":"http", "file.url":"http://example.com/file"}',
    net("protocol='http' name='file'", "<host name='example.com' port='80'/>"),
  ],
  [
    'json:{"file":{ "driver":"http","url":"http://example.com/file"}}',
    net("protocol='http' name='file'", "<host name='example.com' port='80'/>"),
  ],
  ['json:{"file.driver":"ftp", "file.url":"http://example.com/file"}', null],
  [
    'json:{"file.driver":"gluster", "file.filename":"gluster://example.com/vol/file"}',
    net("protocol='gluster' name='vol/file'", "<host name='example.com' port='24007'/>"),
  ],
  [
    j({
      file: {
        driver: 'gluster',
        volume: 'testvol',
        path: 'img.qcow2',
        server: [
          { type: 'tcp', host: 'example.com', port: '1234' },
          { type: 'unix', socket: '/path/socket' },
          { type: 'tcp', host: 'example.com' },
        ],
      },
    }),
    net(
      "protocol='gluster' name='testvol/img.qcow2'",
      "<host name='example.com' port='1234'/>",
      "<host transport='unix' socket='/path/socket'/>",
      "<host name='example.com' port='24007'/>",
    ),
  ],
  [
    j({
      'file.driver': 'gluster',
      'file.volume': 'testvol',
      'file.path': 'img.qcow2',
      'file.server': [
        { type: 'tcp', host: 'example.com', port: '1234' },
        { type: 'unix', socket: '/path/socket' },
        { type: 'inet', host: 'example.com' },
      ],
    }),
    net(
      "protocol='gluster' name='testvol/img.qcow2'",
      "<host name='example.com' port='1234'/>",
      "<host transport='unix' socket='/path/socket'/>",
      "<host name='example.com' port='24007'/>",
    ),
  ],
  [
    j({
      driver: 'raw',
      file: {
        'server.0.host': 'A.A.A.A',
        'server.1.host': 'B.B.B.B',
        'server.2.host': 'C.C.C.C',
        driver: 'gluster',
        path: 'raw',
        'server.0.type': 'tcp',
        'server.1.type': 'tcp',
        'server.2.type': 'tcp',
        'server.0.port': '24007',
        'server.1.port': '24007',
        'server.2.port': '24007',
        volume: 'vol1',
      },
    }),
    net(
      "protocol='gluster' name='vol1/raw'",
      "<host name='A.A.A.A' port='24007'/>",
      "<host name='B.B.B.B' port='24007'/>",
      "<host name='C.C.C.C' port='24007'/>",
    ),
  ],
  ['json:{"file":{"driver":"nbd","path":"/path/to/socket"}}', net("protocol='nbd'", "<host transport='unix' socket='/path/to/socket'/>")],
  ['json:{"driver":"nbd","path":"/path/to/socket"}', net("protocol='nbd'", "<host transport='unix' socket='/path/to/socket'/>")],
  ['json:{"file.driver":"nbd","file.path":"/path/to/socket"}', net("protocol='nbd'", "<host transport='unix' socket='/path/to/socket'/>")],
  [
    'json:{"file":{"driver":"nbd","export":"blah","host":"example.org","port":"6000"}}',
    net("protocol='nbd' name='blah'", "<host name='example.org' port='6000'/>"),
  ],
  [
    'json:{"file.driver":"nbd","file.export":"blah","file.host":"example.org","file.port":"6000"}',
    net("protocol='nbd' name='blah'", "<host name='example.org' port='6000'/>"),
  ],
  [
    'json:{"file":{"driver":"nbd","export":"blah","server": { "type":"inet","host":"example.org","port":"6000"}}}',
    net("protocol='nbd' name='blah'", "<host name='example.org' port='6000'/>"),
  ],
  [
    'json:{"file":{"driver":"nbd","server": { "type":"unix","path":"/path/socket"}}}',
    net("protocol='nbd'", "<host transport='unix' socket='/path/socket'/>"),
  ],
  [
    'json:{"file":{"driver":"ssh","host":"example.org","port":"6000","path":"blah","user":"user"}}',
    net("protocol='ssh' name='blah'", "<host name='example.org' port='6000'/>"),
  ],
  [
    'json:{"file.driver":"ssh","file.host":"example.org","file.port":"6000","file.path":"blah","file.user":"user"}',
    net("protocol='ssh' name='blah'", "<host name='example.org' port='6000'/>"),
  ],
  [
    'json:{"file":{"driver":"ssh","path":"blah","server":{ "host":"example.org","port":"6000"},"user":"user"}}',
    net("protocol='ssh' name='blah'", "<host name='example.org' port='6000'/>"),
  ],
  [
    'json:{"file.driver":"rbd","file.filename":"rbd:testshare:id=asdf:mon_host=example.com"}',
    net("protocol='rbd' name='testshare'", "<host name='example.com'/>"),
  ],
  [
    j({
      file: {
        driver: 'rbd',
        image: 'test',
        pool: 'libvirt',
        conf: '/path/to/conf',
        snapshot: 'snapshotname',
        server: [{ host: 'example.com', port: '1234' }, { host: 'example2.com' }],
      },
    }),
    net(
      "protocol='rbd' name='libvirt/test'",
      "<host name='example.com' port='1234'/>",
      "<host name='example2.com'/>",
      "<snapshot name='snapshotname'/>",
      "<config file='/path/to/conf'/>",
    ),
  ],
  ['json:{ "file": { "driver": "raw","file": {"driver": "file","filename": "/path/to/file" } } }', "<source file='/path/to/file'/>"],
  [
    j({ file: { driver: 'iscsi', transport: 'tcp', portal: 'test.org', target: 'iqn.2016-12.com.virttest:emulated-iscsi-noauth.target' } }),
    net("protocol='iscsi' name='iqn.2016-12.com.virttest:emulated-iscsi-noauth.target/0'", "<host name='test.org' port='3260'/>"),
  ],
  [
    j({
      file: {
        driver: 'iscsi',
        transport: 'tcp',
        portal: 'test.org',
        user: 'testuser',
        target: 'iqn.2016-12.com.virttest:emulated-iscsi-auth.target',
      },
    }),
    net("protocol='iscsi' name='iqn.2016-12.com.virttest:emulated-iscsi-auth.target/0'", "<host name='test.org' port='3260'/>"),
    true,
  ],
  [
    j({
      file: {
        driver: 'iscsi',
        transport: 'tcp',
        portal: 'test.org',
        password: 'testpass',
        target: 'iqn.2016-12.com.virttest:emulated-iscsi-auth.target',
      },
    }),
    net("protocol='iscsi' name='iqn.2016-12.com.virttest:emulated-iscsi-auth.target/0'", "<host name='test.org' port='3260'/>"),
    true,
  ],
  [
    j({
      file: {
        driver: 'iscsi',
        transport: 'tcp',
        portal: 'test.org:1234',
        target: 'iqn.2016-12.com.virttest:emulated-iscsi-noauth.target',
        lun: '6',
      },
    }),
    net("protocol='iscsi' name='iqn.2016-12.com.virttest:emulated-iscsi-noauth.target/6'", "<host name='test.org' port='1234'/>"),
  ],
  [
    j({
      file: {
        driver: 'iscsi',
        transport: 'tcp',
        portal: '[2001::0]:1234',
        target: 'iqn.2016-12.com.virttest:emulated-iscsi-noauth.target',
        lun: 6,
      },
    }),
    net("protocol='iscsi' name='iqn.2016-12.com.virttest:emulated-iscsi-noauth.target/6'", "<host name='[2001::0]' port='1234'/>"),
  ],
  [
    j({
      file: {
        driver: 'iscsi',
        transport: 'tcp',
        portal: '[2001::0]',
        target: 'iqn.2016-12.com.virttest:emulated-iscsi-noauth.target',
        lun: 6,
      },
    }),
    net("protocol='iscsi' name='iqn.2016-12.com.virttest:emulated-iscsi-noauth.target/6'", "<host name='[2001::0]' port='3260'/>"),
  ],
  [
    j({ file: { driver: 'sheepdog', vdi: 'test', server: { type: 'inet', host: 'example.com', port: '321' } } }),
    net("protocol='sheepdog' name='test'", "<host name='example.com' port='321'/>"),
  ],
  [
    j({
      driver: 'raw',
      file: { 'server.host': '10.10.10.10', 'server.port': '7000', tag: '', driver: 'sheepdog', 'server.type': 'inet', vdi: 'Alice' },
    }),
    net("protocol='sheepdog' name='Alice'", "<host name='10.10.10.10' port='7000'/>"),
  ],
  [
    j({ file: { driver: 'vxhs', 'vdisk-id': 'c6718f6b-0401-441d-a8c3-1f0064d75ee0', server: { host: 'example.com', port: '9999' } } }),
    net("protocol='vxhs' name='c6718f6b-0401-441d-a8c3-1f0064d75ee0'", "<host name='example.com' port='9999'/>"),
  ],
  [
    j({ file: { driver: 'nfs', user: 2, group: 9, path: '/foo/bar/baz', server: { host: 'example.com', type: 'inet' } } }),
    net("protocol='nfs' name='/foo/bar/baz'", "<host name='example.com'/>", "<identity user='+2' group='+9'/>"),
  ],
  [
    j({ driver: 'raw', offset: 10752, size: 4063232, file: { driver: 'file', filename: '/tmp/testfle' } }),
    net("file='/tmp/testfle'", '<slices>', "  <slice type='storage' offset='10752' size='4063232'/>", '</slices>'),
  ],
  ...(['false', '"off"'] as const).map((v): Case => [
    `json:{ "file.cookie": "vmware_soap_session=\\"0c8db85112873a79b7ef74f294cb70ef7f\\"","file.sslverify": ${v},"file.driver": "https","file.url": "https://host/folder/esx6.5-rhel7.7-x86%5f64/esx6.5-rhel7.7-x86%5f64-flat.vmdk?dcPath=data&dsName=esx6.5-matrix","file.timeout": 2000}`,
    net(
      "protocol='https' name='folder/esx6.5-rhel7.7-x86_64/esx6.5-rhel7.7-x86_64-flat.vmdk' query='dcPath=data&amp;dsName=esx6.5-matrix'",
      "<host name='host' port='443'/>",
      "<ssl verify='no'/>",
      '<cookies>',
      "  <cookie name='vmware_soap_session'>&quot;0c8db85112873a79b7ef74f294cb70ef7f&quot;</cookie>",
      '</cookies>',
      "<timeout seconds='2000'/>",
    ),
  ]),
  [
    'json:{"file":{"driver": "nvme","device": "0000:01:00.0","namespace": 1}}',
    net("type='pci' namespace='1'", "<address domain='0x0000' bus='0x01' slot='0x00' function='0x0'/>"),
  ],
];

describe("libvirt's own backing-parse cases", () => {
  it.each(LIBVIRT)('%s', (...c) => check(c as Case));
});

// Each protocol's default port (virStorageSourceNetworkDefaultPort), through the URI form.
const PORTS: Case[] = [
  ['http://h/x', net("protocol='http' name='x'", "<host name='h' port='80'/>")],
  ['https://h/x', net("protocol='https' name='x'", "<host name='h' port='443'/>")],
  ['ftp://h/x', net("protocol='ftp' name='x'", "<host name='h' port='21'/>")],
  ['ftps://h/x', net("protocol='ftps' name='x'", "<host name='h' port='990'/>")],
  ['tftp://h/x', net("protocol='tftp' name='x'", "<host name='h' port='69'/>")],
  ['nbd://h/x', net("protocol='nbd' name='x'", "<host name='h' port='10809'/>")],
  ['ssh://h/x', net("protocol='ssh' name='x'", "<host name='h' port='22'/>")],
  ['iscsi://h/iqn.x/0', net("protocol='iscsi' name='iqn.x/0'", "<host name='h' port='3260'/>")],
  ['gluster://h/vol/x', net("protocol='gluster' name='vol/x'", "<host name='h' port='24007'/>")],
  ['sheepdog://h/x', net("protocol='sheepdog' name='x'", "<host name='h' port='7000'/>")],
  ['vxhs://h/x', net("protocol='vxhs' name='x'", "<host name='h' port='9999'/>")],
  ['rbd://h/pool/x', net("protocol='rbd' name='pool/x'", "<host name='h'/>")],
  ['nfs://h/export/x', net("protocol='nfs' name='export/x'", "<host name='h'/>")],
  ['http://h:8080/x', net("protocol='http' name='x'", "<host name='h' port='8080'/>")],
  ['https://h:8443/a/b?c=d', net("protocol='https' name='a/b' query='c=d'", "<host name='h' port='8443'/>")],
  ['nbd://h:0/x', net("protocol='nbd' name='x'", "<host name='h' port='10809'/>")],
  ['nbd://[::1]:10810/x', net("protocol='nbd' name='x'", "<host name='::1' port='10810'/>")],
  ['nbd://[fe80::1]/x', net("protocol='nbd' name='x'", "<host name='fe80::1' port='10809'/>")],
];

// URI rules: transports, queries, decoding, refusals.
const URIS: Case[] = [
  ['nbd+tcp://example.org:6000/blah', net("protocol='nbd' name='blah'", "<host name='example.org' port='6000'/>")],
  ['nbd://example.org', net("protocol='nbd'", "<host name='example.org' port='10809'/>")],
  ['gluster+tcp://h/vol/img', net("protocol='gluster' name='vol/img'", "<host name='h' port='24007'/>")],
  ['gluster+unix:///vol/img?socket=/run/g.sock', net("protocol='gluster' name='vol/img'", "<host transport='unix' socket='/run/g.sock'/>")],
  ['gluster+rdma://h/vol/img', net("protocol='gluster' name='vol/img'", "<host name='h' transport='rdma'/>")],
  ['gluster://h/vol', null],
  ['gluster://h/', null],
  ['gluster://h', null],
  ['gluster://h//img', null],
  ['nbd+udp://h/x', null],
  ['foo://h/x', null],
  ['none://h/x', null],
  ['http://h/x?a=b&c=d', net("protocol='http' name='x' query='a=b&amp;c=d'", "<host name='h' port='80'/>")],
  ['nbd://h/x?a=b', net("protocol='nbd' name='x'", "<host name='h' port='10809'/>")],
  ['nbd+unix:///x?socket=/s&foo=bar', net("protocol='nbd' name='x'", "<host transport='unix' socket='/s&amp;foo=bar'/>")],
  ['http://h/a%20b', net("protocol='http' name='a b'", "<host name='h' port='80'/>")],
  ['http://h/x#frag', net("protocol='http' name='x'", "<host name='h' port='80'/>")],
  ['ssh://user@h/x', net("protocol='ssh' name='x'", "<host name='h' port='22'/>"), true],
  ['ssh://h:2222/var/x', net("protocol='ssh' name='var/x'", "<host name='h' port='2222'/>")],
  ['http://h:99999/x', null],
  ['http://h:abc/x', null],
  ['http://h/%zz', null],
  ['iscsi://h:3261/iqn.2000-01.com.x:t/1', net("protocol='iscsi' name='iqn.2000-01.com.x:t/1'", "<host name='h' port='3261'/>")],
];

// The colon forms (virStorageSourceParseBackingColon and the nbd/rbd parsers).
const COLON: Case[] = [
  ['nbd:', null],
  ['nbd:unix:', null],
  ['nbd::6000', null],
  ['nbd:example.org', null],
  ['nbd:[::1]', null],
  ['nbd:[]:6000', null],
  ['nbd:example.org:abc', null],
  ['nbd:example.org:70000', null],
  ['nbd:example.org:', null],
  ['nbd:example.org:6000', net("protocol='nbd'", "<host name='example.org' port='6000'/>")],
  ['nbd:unix:/run/nbd.sock', net("protocol='nbd'", "<host transport='unix' socket='/run/nbd.sock'/>")],
  ['rbd:pool/image', net("protocol='rbd' name='pool/image'")],
  ['rbd:pool/image@snap', net("protocol='rbd' name='pool/image'", "<snapshot name='snap'/>")],
  ['rbd:image:conf=/etc/ceph/ceph.conf', net("protocol='rbd' name='image'", "<config file='/etc/ceph/ceph.conf'/>")],
  ['rbd:pool/image:mon_host=a\\;b\\:6790', net("protocol='rbd' name='pool/image'", "<host name='a'/>", "<host name='b' port='6790'/>")],
  ['rbd:img:mon_host=[\\:\\:1]\\:6789', net("protocol='rbd' name='img'", "<host name='::1' port='6789'/>")],
  // An unescaped ':' ends the option, inside brackets too.
  ['rbd:img:mon_host=[::1]\\:6789', net("protocol='rbd' name='img'", "<host name='['/>")],
  ['rbd:img:mon_host=h1\\,h2\\ h3', net("protocol='rbd' name='img'", "<host name='h1'/>", "<host name='h2'/>", "<host name='h3'/>")],
  ['rbd:img:id=a:id=b', null],
  ['rbd:img:mon_host=h\\:x', null],
  ['sheepdog:vdi', null],
  ['gluster:h/vol/x', null],
  ['http:h/x', null],
  ['iscsi:x', null],
  ['ssh:x', null],
  ['nfs:x', null],
  ['vxhs:x', null],
  ['ftp:x', null],
  ['tftp:x', null],
  ['ftps:x', null],
  ['https:x', null],
  ['foo:bar', null],
  ['qcow2:x', null],
  ['./a:b', "<source file='./a:b'/>"],
  ['/abs/a:b', "<source file='/abs/a:b'/>"],
  ['fat:rw:/dir', "<source dir='rw:/dir'/>"],
];

// The json: drivers' own rules and refusals.
const JSON_RULES: Case[] = [
  [j({ driver: 'qcow2', file: { driver: 'file', filename: '/a' } }), null],
  [j({ driver: 'raw', file: { driver: 'raw', file: { driver: 'file', filename: '/a' } } }), null],
  [j({ driver: 'raw' }), null],
  [j({ driver: 'raw', offset: '1', file: { driver: 'file', filename: '/a' } }), null],
  [j({ driver: 'raw', offset: -1, file: { driver: 'file', filename: '/a' } }), null],
  [
    j({ driver: 'raw', size: 512, file: { driver: 'file', filename: '/a' } }),
    net("file='/a'", '<slices>', "  <slice type='storage' size='512'/>", '</slices>'),
  ],
  [j({ driver: 'raw', file: { driver: 'host_device', filename: '/dev/sda' } }), "<source dev='/dev/sda'/>"],
  [j({ driver: 'file', filename: 42 }), null],
  [j({ driver: 42 }), null],
  ['json:[1,2]', null],
  ['json:"x"', null],
  ['json:{"file.driver":"file","file":{"filename":"/a"}}', null],
  ['json:{"file":{"filename":"/a"},"file.driver":"file"}', "<source file='/a'/>"],
  ['json:{"file":"x","file.driver":"file"}', null],
  ['json:{"file..driver":"file"}', null],
  [j({ driver: 'https', url: 'http://h/x' }), null],
  [j({ driver: 'http' }), null],
  [j({ driver: 'https', url: 'https://h/x', sslverify: 'no' }), null],
  [
    j({ driver: 'https', url: 'https://h/x', sslverify: true }),
    net("protocol='https' name='x'", "<host name='h' port='443'/>", "<ssl verify='yes'/>"),
  ],
  [j({ driver: 'https', url: 'https://h/x', cookie: 'a' }), null],
  [j({ driver: 'https', url: 'https://h/x', cookie: 1 }), null],
  [
    j({ driver: 'http', url: 'http://h/x', cookie: 'a=1; b=2' }),
    net(
      "protocol='http' name='x'",
      "<host name='h' port='80'/>",
      '<cookies>',
      "  <cookie name='a'>1</cookie>",
      "  <cookie name='b'>2</cookie>",
      '</cookies>',
    ),
  ],
  [
    j({ driver: 'ftp', url: 'ftp://h/x', readahead: 65536 }),
    net("protocol='ftp' name='x'", "<host name='h' port='21'/>", "<readahead size='65536'/>"),
  ],
  [j({ driver: 'ftp', url: 'ftp://h/x', timeout: 'x' }), null],
  [j({ driver: 'tftp', url: 'tftp://h/x' }), net("protocol='tftp' name='x'", "<host name='h' port='69'/>")],
  [
    j({ driver: 'ftps', url: 'ftps://h/x', sslverify: false }),
    net("protocol='ftps' name='x'", "<host name='h' port='990'/>", "<ssl verify='no'/>"),
  ],
  [j({ driver: 'gluster', volume: 'v', path: 'p' }), null],
  [j({ driver: 'gluster', volume: 'v', path: 'p', server: [] }), null],
  [j({ driver: 'gluster', volume: 'v', path: 'p', server: [{ host: 'h' }] }), null],
  [j({ driver: 'gluster', volume: 'v', path: 'p', server: [{ type: 'udp', host: 'h' }] }), null],
  [j({ driver: 'gluster', volume: 'v', path: 'p', server: [{ type: 'unix' }] }), null],
  [j({ driver: 'gluster', volume: 'v', path: 'p', server: [{ type: 'tcp' }] }), null],
  [j({ driver: 'gluster', filename: 'nbd://h/x' }), null],
  [j({ driver: 'iscsi', portal: 'h', target: 't' }), null],
  [j({ driver: 'iscsi', transport: 'iser', portal: 'h', target: 't' }), null],
  [j({ driver: 'iscsi', transport: 'tcp', target: 't' }), null],
  [j({ driver: 'iscsi', transport: 'tcp', portal: 'h' }), null],
  [j({ driver: 'iscsi', transport: 'tcp', portal: 'h:x', target: 't' }), null],
  [j({ driver: 'iscsi', filename: 'iscsi://h/iqn.x/2' }), net("protocol='iscsi' name='iqn.x/2'", "<host name='h' port='3260'/>")],
  [j({ driver: 'nbd' }), null],
  [j({ driver: 'nbd', export: 'e' }), null],
  [j({ driver: 'nbd', host: 'h' }), net("protocol='nbd'", "<host name='h' port='10809'/>")],
  [j({ driver: 'nbd', host: 'h', port: 6000 }), net("protocol='nbd'", "<host name='h' port='10809'/>")],
  [j({ driver: 'nbd', host: 'h', port: 'x' }), null],
  [j({ driver: 'nbd', server: { type: 'vsock', cid: '3' } }), null],
  [j({ driver: 'nbd', server: { host: 'h' } }), null],
  [j({ driver: 'sheepdog', filename: 'sheepdog://h/v' }), net("protocol='sheepdog' name='v'", "<host name='h' port='7000'/>")],
  [j({ driver: 'sheepdog', filename: 'h:7000:v' }), null],
  [j({ driver: 'sheepdog', server: { type: 'inet', host: 'h' } }), null],
  [j({ driver: 'sheepdog', vdi: 'v' }), null],
  [j({ driver: 'ssh', path: 'p' }), null],
  [j({ driver: 'ssh', host: 'h' }), null],
  [j({ driver: 'ssh', path: 'p', server: { port: '22' } }), null],
  [j({ driver: 'ssh', path: '/p', host: 'h' }), net("protocol='ssh' name='/p'", "<host name='h' port='22'/>")],
  [j({ driver: 'rbd', pool: 'p' }), null],
  [j({ driver: 'rbd', image: 'i' }), null],
  [j({ driver: 'rbd', pool: 'p', image: 'i' }), net("protocol='rbd' name='p/i'")],
  [j({ driver: 'rbd', pool: 'p', image: 'i', server: [{ port: '1' }] }), null],
  [j({ driver: 'vxhs', 'vdisk-id': 'x' }), null],
  [j({ driver: 'vxhs', server: { host: 'h' } }), null],
  [j({ driver: 'vxhs', 'vdisk-id': 'x', server: { host: 'h' } }), net("protocol='vxhs' name='x'", "<host name='h' port='9999'/>")],
  [j({ driver: 'nfs', user: 0, group: 0, path: '/p' }), null],
  [j({ driver: 'nfs', group: 0, path: '/p', server: { host: 'h' } }), null],
  [j({ driver: 'nfs', user: '0', group: 0, path: '/p', server: { host: 'h' } }), null],
  [j({ driver: 'nfs', user: 0, group: 0, server: { host: 'h' } }), null],
  [j({ driver: 'nvme', device: 'x', namespace: 1 }), null],
  [j({ driver: 'nvme', device: '0000:01:00.0', namespace: 0 }), null],
  [j({ driver: 'nvme', device: '0000:01:00.0' }), null],
  [j({ driver: 'vvfat', dir: '/d' }), null],
  [j({ driver: '__proto__' }), null],
];

describe('libvirt backing-parse rules', () => {
  it.each([...PORTS, ...URIS, ...COLON, ...JSON_RULES])('%s', (...c) => check(c as Case));
});

describe('hostile json: text is bounded', () => {
  it('a name longer than the bound is refused, not parsed', () => {
    const long = `json:{"driver":"file","filename":"/${'a'.repeat(MAX_JSON_BYTES)}"}`;
    expect(tryParseBacking(long)).toEqual({ error: expect.stringMatching(/longer than/) });
  });
  it('nesting past the bound is refused before JSON.parse sees it', () => {
    expect(tryParseBacking(`json:${'['.repeat(10_000)}${']'.repeat(10_000)}`)).toEqual({ error: expect.stringMatching(/deeper/) });
  });
  it('a dotted key nested past the bound is refused', () => {
    const key = Array.from({ length: 100 }, () => 'a').join('.');
    expect(tryParseBacking(`json:{"${key}":1}`)).toEqual({ error: expect.stringMatching(/deeper/) });
  });
  it('brackets inside strings do not count as nesting', () => {
    expect(parseBacking(j({ driver: 'file', filename: `/${'['.repeat(100)}` })).source).toEqual({
      type: 'file',
      path: `/${'['.repeat(100)}`,
    });
  });
});
