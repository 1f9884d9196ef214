// qemu.conf + domain <seclabel>s → the VM profile with its sources, and what the planner does with
// the libvirt semantics it adds (remember_owner=0, a disk's relabel='no', a disk's own DAC label),
// checked on real files.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseDomainXml } from '../../electron/node/libvirt/domain-xml.js';
import { ConfError, parseConf } from '../../electron/node/libvirt/qemu-conf.js';
import { resolveProfile } from '../../electron/node/libvirt/profile.js';
import { applyInProcess } from '../../electron/node/helper/api.js';
import { planChanges } from '../../electron/node/relabel/plan.js';
import { libvirtAttrs, owner, setContext, xattr } from '../support/chain.js';
import type { VmProfile } from '../../shared/plan.js';
import { tempDir } from '../support/qemu.js';
import { diskElement, domainXml, makeChain3, type Chain3 } from './fixtures.js';
import { stateDir } from '../support/state.js';
import { openDomain } from '../../electron/node/libvirt/index.js';
import { diskchain } from '../support/bin.js';

const FULL_CONF = `# qemu.conf as an admin leaves it
#user = "root"
user = "+107"   # the VM's user
group = 'kvm'
dynamic_ownership = 1
remember_owner = 1
security_default_confined = 1
security_driver = [ "selinux",
   # a comment inside the list
   "dac", ]
cgroup_device_acl = [
    "/dev/null", "/dev/full"
]
user = "ignored"; max_files = 32768
`;

describe('qemu.conf (virConf syntax)', () => {
  it('strings in both quotes, numbers, lists over lines with comments, line numbers', () => {
    const c = parseConf(FULL_CONF, 'qemu.conf');
    const byName = (n: string) => c.entries.filter((e) => e.name === n);
    expect(byName('user').map((e) => [e.line, e.value])).toEqual([
      [3, { kind: 'string', value: '+107' }],
      [14, { kind: 'string', value: 'ignored' }],
    ]);
    expect(byName('group')[0]!.value).toEqual({ kind: 'string', value: 'kvm' });
    expect(byName('security_driver')[0]).toMatchObject({
      line: 8,
      value: { kind: 'list', value: [{ value: 'selinux' }, { value: 'dac' }] },
    });
    expect(byName('max_files')[0]!.value).toEqual({ kind: 'number', value: 32768 });
    expect(byName('cgroup_device_acl')[0]!.value.value).toHaveLength(2);
  });

  it('errors name the file and line', () => {
    expect(() => parseConf('user = "qemu\n', '/etc/q.conf')).toThrow(/\/etc\/q\.conf:1: unterminated string/);
    expect(() => parseConf('a = 1\nuser qemu\n', 'q')).toThrow(/q:2: expected '=' after user/);
    expect(() => parseConf('l = [ "a" "b" ]', 'q')).toThrow(/q:1: expected ',' or '\]'/);
    expect(() => parseConf('x = [[1]]', 'q')).toThrow(/nested/);
  });
});

describe('profile resolution with sources', () => {
  const resolve = (conf: string | null, dom: string | null, selinuxEnabled = false) =>
    resolveProfile(conf === null ? null : parseConf(conf, 'qemu.conf'), 'qemu.conf', dom ? parseDomainXml(dom, 'dom.xml') : null, {
      selinuxEnabled,
    });

  it('every qemu.conf field, first setting wins', () => {
    const r = resolve(FULL_CONF, null);
    expect(r.dac.user).toEqual({ value: '+107', source: 'qemu.conf:3 user = "+107"   # the VM\'s user' });
    expect(r.dac.group).toEqual({ value: 'kvm', source: "qemu.conf:4 group = 'kvm'" });
    expect(r.securityDrivers.value).toEqual(['selinux', 'dac']);
    expect(r.securityDrivers.source).toMatch(/^qemu\.conf:8 security_driver = \[ "selinux",$/);
    expect(r.rememberOwner).toEqual({ value: true, source: 'qemu.conf:6 remember_owner = 1' });
    expect(r.drivers).toEqual(['dac', 'selinux']);
    expect(r.selinux.imageLabel.value).toBeNull();
    expect(r.selinux.imageLabel.source).toMatch(/two random categories/);
  });

  it('defaults when absent; security_driver as a string; dynamic_ownership=0 turns DAC off', () => {
    const d = resolve(null, null);
    expect(d.dynamicOwnership).toEqual({ value: true, source: 'libvirt default: 1 (qemu.conf not found)' });
    expect(d.securityDrivers.value).toEqual([]);
    expect(d.drivers).toEqual(['dac']);
    expect(resolve(null, null, true).drivers).toEqual(['dac', 'selinux']);
    expect(resolve('security_driver = "selinux"\n', null).drivers).toEqual(['dac', 'selinux']);
    expect(resolve('security_driver = "none"\n', null, true).drivers).toEqual(['dac']);
    const off = resolve('user = "+5"\ndynamic_ownership = 0\n', null);
    expect(off.dac.enabled).toEqual({ value: false, source: 'qemu.conf:2 dynamic_ownership = 0: libvirt does not chown images' });
    expect(off.drivers).toEqual([]);
    expect(() => resolve('dynamic_ownership = "yes"\n', null)).toThrow(ConfError);
    expect(() => resolve('security_driver = [ "selinux", "selinux" ]\n', null)).toThrow(/duplicate security driver selinux/);
  });

  it('domain seclabels override: DAC label, static SELinux label, type none, relabel defaults', () => {
    const dac = `<seclabel type='static' model='dac' relabel='yes'><label>+300:+301</label></seclabel>`;
    const sel = `<seclabel type='static' model='selinux' relabel='yes'><label>system_u:system_r:svirt_t:s0:c5,c9</label></seclabel>`;
    const r = resolve(FULL_CONF, domainXml([], dac + sel));
    expect(r.dac.user).toEqual({
      value: '+300',
      source: "domain <seclabel model='dac' type='static' relabel='yes'> <label>+300:+301</label>",
    });
    expect(r.dac.group.value).toBe('+301');
    expect(r.selinux.imageLabel.value).toBe('system_u:object_r:svirt_image_t:s0:c5,c9');
    expect(r.profile).toMatchObject({ user: '+300', group: '+301', imageLabel: 'system_u:object_r:svirt_image_t:s0:c5,c9' });

    // A static label without relabel='yes' does not relabel; type none neither.
    const quiet = resolve(
      FULL_CONF,
      domainXml([], `<seclabel type='static' model='dac'><label>+1:+1</label></seclabel><seclabel type='none' model='selinux'/>`),
    );
    expect(quiet.drivers).toEqual([]);
    expect(quiet.dac.enabled.source).toMatch(/does not relabel unless relabel='yes'/);
    expect(quiet.dac.user.value).toBe('+107');

    // Live XML: the dynamic label's imagelabel is the one in use.
    const live = resolve(
      FULL_CONF,
      domainXml(
        [],
        `<seclabel type='dynamic' model='selinux' relabel='yes'><label>system_u:system_r:svirt_t:s0:c1,c2</label><imagelabel>system_u:object_r:svirt_image_t:s0:c1,c2</imagelabel></seclabel>`,
      ),
    );
    expect(live.selinux.imageLabel).toEqual({
      value: 'system_u:object_r:svirt_image_t:s0:c1,c2',
      source: "domain <seclabel model='selinux' type='dynamic' relabel='yes'> <imagelabel>",
    });
  });

  it('per-disk readonly, shareable and seclabels, with sources', () => {
    const disk = diskElement(
      [{ file: '/var/lib/libvirt/images/a.qcow2', format: 'qcow2', seclabel: "<seclabel model='dac' relabel='no'/>" }],
      { extra: '<shareable/>' },
    );
    const r = resolve(FULL_CONF, domainXml([disk]));
    expect(r.disks).toHaveLength(1);
    const d = r.disks[0]!;
    expect(d.shareable).toEqual({ value: true, source: 'disk vda <shareable/>' });
    expect(d.dac.relabel).toEqual({ value: false, source: "disk vda <seclabel model='dac' relabel='no'>" });
    expect(d.selinux.relabel.value).toBe(true);
    expect(r.profile.disks).toEqual([
      {
        path: '/var/lib/libvirt/images/a.qcow2',
        target: 'vda',
        readonly: false,
        shareable: true,
        seclabels: [{ model: 'dac', relabel: false }],
      },
    ]);
  });
});

describe('the planner with the domain semantics (real files)', () => {
  let tmp: { dir: string; cleanup: () => void };
  let c: Chain3;
  let all: string[];
  let savedState: string | undefined;
  beforeEach(() => {
    tmp = tempDir('diskchain-vmprofile-');
    c = makeChain3(tmp.dir);
    all = [c.top, c.topData, c.mid, c.base, c.baseData];
    setContext(all);
    savedState = process.env.DISKCHAIN_STATE_DIR;
    process.env.DISKCHAIN_STATE_DIR = stateDir();
  });
  afterEach(() => {
    if (savedState === undefined) delete process.env.DISKCHAIN_STATE_DIR;
    else process.env.DISKCHAIN_STATE_DIR = savedState;
    tmp.cleanup();
  });

  const base: VmProfile = {
    drivers: ['dac', 'selinux'],
    user: '+107',
    group: '+107',
    imageLabel: 'system_u:object_r:svirt_image_t:s0:c1,c2',
    readonly: false,
    shareable: false,
    allowRoots: [],
  };
  // A domain's disks never open their own folders for changes (electron/node/change/consent.ts): name it.
  const named = () => ({ allowRoots: [tmp.dir] });

  it('remember_owner = 0: relabel writes no trusted.libvirt.* record; restore goes to root:root', () => {
    const plan = planChanges('relabel', [c.top], { ...base, drivers: ['dac', 'selinux'], rememberOwner: false });
    expect(plan.refusals).toEqual([]);
    expect(applyInProcess(plan)).toMatchObject({ ok: true, changed: 5 });
    for (const f of all) {
      expect(owner(f)).toBe('107:107');
      expect(libvirtAttrs(f)).toEqual({});
    }
    expect(xattr(c.top, 'security.selinux')).toBe(base.imageLabel);
    const back = planChanges('restore', [c.top], { ...base, drivers: ['dac'], rememberOwner: false });
    expect(applyInProcess(back)).toMatchObject({ ok: true });
    expect(owner(c.top)).toBe('0:0');
    expect(owner(c.mid)).toBe('107:107');

    // The same with records: remembered on the top and its data file only.
    const withRecords = planChanges('relabel', [c.top], { ...base, drivers: ['dac'] });
    expect(applyInProcess(withRecords)).toMatchObject({ ok: true });
    expect(libvirtAttrs(c.top)).toMatchObject({ dac: '+0:+0', ref_dac: '1' });
    expect(libvirtAttrs(c.mid)).toEqual({});
  });

  it("a disk's relabel='no' leaves its files alone for that driver; its DAC label wins over the VM's", () => {
    const noDac = planChanges('relabel', [c.top], {
      ...base,
      ...named(),
      disks: [{ path: c.top, readonly: false, shareable: false, seclabels: [{ model: 'dac', relabel: false }] }],
    });
    expect(noDac.refusals).toEqual([]);
    expect(applyInProcess(noDac)).toMatchObject({ ok: true });
    for (const f of all) expect(owner(f)).toBe('0:0');
    expect(xattr(c.top, 'security.selinux')).toBe(base.imageLabel);
    expect(xattr(c.mid, 'security.selinux')).toBe('system_u:object_r:virt_content_t:s0');
    expect(noDac.entries[0]!.note).toMatch(/dac left alone: the disk's <seclabel model='dac' relabel='no'>/);

    const own = planChanges('relabel', [c.top], {
      ...base,
      ...named(),
      drivers: ['dac'],
      disks: [
        {
          path: c.top,
          readonly: false,
          shareable: false,
          seclabels: [{ model: 'dac', relabel: true, label: '+400:+401' }],
          layerSeclabels: { [c.mid]: [{ model: 'dac', relabel: false }] },
        },
      ],
    });
    expect(applyInProcess(own)).toMatchObject({ ok: true });
    expect([c.top, c.topData, c.base, c.baseData].map(owner)).toEqual(['400:401', '400:401', '400:401', '400:401']);
    expect(owner(c.mid)).toBe('0:0');
  });

  it('per-disk readonly from the domain: content label on the top, nothing remembered, not restored', () => {
    const p = { ...base, ...named(), disks: [{ path: c.top, readonly: true, shareable: false, seclabels: [] }] };
    expect(applyInProcess(planChanges('relabel', [c.top], p))).toMatchObject({ ok: true });
    expect(xattr(c.top, 'security.selinux')).toBe('system_u:object_r:virt_content_t:s0');
    expect(libvirtAttrs(c.top)).toEqual({});
    const back = planChanges('restore', [c.top], p);
    expect(back.entries.every((e) => e.changes.length === 0)).toBe(true);
  });
});

describe('a disk whose format the domain does not state', () => {
  let t: { dir: string; cleanup: () => void };
  let chain: Chain3;
  beforeEach(() => {
    t = tempDir('diskchain-noformat-');
    chain = makeChain3(t.dir);
  });
  afterEach(() => t.cleanup());

  it('is raw in domain context, as libvirt takes it (no probing); the standalone inspect probes and says so', async () => {
    const stated = domainXml([diskElement([{ file: chain.top, format: 'qcow2' }])]);
    const unstated = stated.replace(" type='qcow2' cache", ' cache');
    expect(parseDomainXml(unstated, 'dom.xml').disks[0]!.xmlChain[0]!.format).toBeNull();
    const resolve = (xml: string) => resolveProfile(null, 'qemu.conf', parseDomainXml(xml, 'dom.xml'), { selinuxEnabled: false });
    expect(resolve(stated).notes.join('\n')).not.toContain('no <driver type>');
    expect(resolve(unstated).notes.join('\n')).toContain(
      `disk vda: no <driver type>, so libvirt opens ${chain.top} as raw without probing`,
    );

    const r = await openDomain({ text: unstated, qemuConf: `${t.dir}/none.conf`, host: { selinuxEnabled: false } });
    const differs = r.disks[0]!.differences.find((d) => d.code === 'format-differs');
    expect(differs?.message).toContain('no <driver type> (libvirt uses raw)');

    const shown = diskchain(['inspect', chain.top]);
    expect(shown.status).toBe(0);
    expect(shown.stdout).toMatch(/qcow2 \(probed\)/);
  });
});
