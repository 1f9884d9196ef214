// `diskchain domain`, `diskchain export` and `relabel|restore --domain` as a user runs them (the
// built CLI), with a fake `virsh` on PATH that prints a document.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DomainReport } from '../../shared/domain.js';
import { libvirtAttrs, owner, setContext } from '../support/chain.js';
import { runCli } from '../support/cli.js';
import { tempDir } from '../support/qemu.js';
import { diskElement, domainXml, makeChain3, write, type Chain3 } from './fixtures.js';
import { stateDir } from '../support/state.js';

let tmp: { dir: string; cleanup: () => void };
let c: Chain3;
let env: NodeJS.ProcessEnv;

beforeEach(() => {
  tmp = tempDir('diskchain-libvirt-cli-');
  c = makeChain3(tmp.dir);
  const conf = write(tmp.dir, 'qemu.conf', 'user = "+107"\ngroup = "+108"\nsecurity_driver = "none"\n');
  env = { ...process.env, DISKCHAIN_STATE_DIR: stateDir(), DISKCHAIN_QEMU_CONF: conf };
});
afterEach(() => tmp.cleanup());

const levels = () => [
  { file: c.top, format: 'qcow2', data: c.topData },
  { file: c.mid, format: 'qcow2' },
  { file: c.base, format: 'qcow2', data: c.baseData },
];

describe('diskchain domain', () => {
  it('side by side, differences, profile with sources; exit 3 on a mismatch', () => {
    const good = write(tmp.dir, 'good.xml', domainXml([diskElement(levels(), { end: 'terminated' })]));
    const r = runCli(['domain', good], { env });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`| ${c.mid} (qcow2)`);
    expect(r.stdout).toMatch(/user +\+107 +← .*qemu\.conf:1 user = "\+107"/);
    expect(r.stdout).toMatch(/relabel\/restore with: dac\n/);

    const stale = levels();
    stale[1]!.file = path.join(tmp.dir, 'gone.qcow2');
    const bad = write(tmp.dir, 'bad.xml', domainXml([diskElement(stale, { end: 'terminated' })]));
    const b = runCli(['domain', '--json', bad], { env });
    expect(b.status).toBe(3);
    const rep = JSON.parse(b.stdout) as DomainReport;
    expect(rep.disks[0]!.differences.map((d) => d.code)).toContain('path-differs');
    expect(rep.profile!.dac.group).toEqual({ value: '+108', source: `${env.DISKCHAIN_QEMU_CONF}:2 group = "+108"` });
  });

  it('stdin, hostile input, and errors that name the input', () => {
    const xml = domainXml([diskElement(levels(), { end: 'terminated' })]);
    const s = spawnSync(process.execPath, [path.resolve('dist/electron/cli.js'), 'domain', '-'], { input: xml, env, encoding: 'utf8' });
    expect(s.status).toBe(0);
    expect(s.stdout).toMatch(/^domain web01 .* \(from -\)/);
    const evil = write(tmp.dir, 'evil.xml', '<!DOCTYPE x [<!ENTITY a "b">]><domain/>');
    const e = runCli(['domain', evil], { env });
    expect(e.status).toBe(1);
    expect(e.stderr).toBe(`diskchain: ${evil}: has a DOCTYPE or entity declaration; a domain XML has none (refused)\n`);
  });

  it('--virsh runs virsh dumpxml (a fake virsh on PATH)', () => {
    const bin = path.join(tmp.dir, 'bin');
    fs.mkdirSync(bin);
    const doc = write(tmp.dir, 'virsh-doc.xml', domainXml([diskElement(levels(), { end: 'terminated' })]));
    fs.writeFileSync(
      path.join(bin, 'virsh'),
      `#!/bin/sh\n[ "$1" = dumpxml ] && [ "$2" = -- ] && [ "$3" = web01 ] && exec cat '${doc}'\necho "error: failed to get domain '$3'" >&2\nexit 1\n`,
      { mode: 0o755 },
    );
    const pathEnv = { ...env, PATH: `${bin}:${process.env.PATH}` };
    const r = runCli(['domain', '--virsh', 'web01', '--json'], { env: pathEnv });
    expect(r.status).toBe(0);
    expect((JSON.parse(r.stdout) as DomainReport).origin).toBe('virsh dumpxml web01');
    const missing = runCli(['domain', '--virsh', 'nope'], { env: pathEnv });
    expect(missing.status).toBe(1);
    expect(missing.stderr).toBe("diskchain: virsh dumpxml nope failed: error: failed to get domain 'nope'\n");
    const none = runCli(['domain', '--virsh', 'web01'], { env: { ...env, PATH: bin + '-empty' } });
    expect(none.stderr).toMatch(/virsh is not installed here/);
  });
});

describe('diskchain export', () => {
  it('--libvirt-xml reads back with no differences; --blockdev and --json', () => {
    const x = runCli(['export', c.top, '--libvirt-xml', '--target', 'vdc'], { env });
    expect(x.status).toBe(0);
    const dom = write(tmp.dir, 'exported.xml', `<domain type='kvm'><name>e</name><devices>\n${x.stdout}</devices></domain>`);
    const back = runCli(['domain', '--json', dom], { env });
    expect(back.status).toBe(0);
    const disk = (JSON.parse(back.stdout) as DomainReport).disks[0]!;
    expect(disk.target).toBe('vdc');
    expect(disk.xmlChain.map((l) => l.path)).toEqual([c.top, c.mid, c.base]);
    expect(disk.differences.filter((d) => d.severity === 'error')).toEqual([]);

    const b = runCli(['export', c.top, '--blockdev'], { env });
    const lines = b.stdout.trim().split(' \\\n');
    expect(lines).toHaveLength(8);
    for (const l of lines) expect(l).toMatch(/^-blockdev '\{.*\}'$/);
    const j = JSON.parse(runCli(['export', c.top, '--blockdev', '--json'], { env }).stdout) as Record<string, unknown>[];
    expect(j.map((n) => n['node-name'])).toEqual(lines.map((l) => JSON.parse(l.slice(11, -1))['node-name']));
    const f = runCli(['export', c.top, '--json-filename'], { env });
    expect(spawnSync('qemu-img', ['check', f.stdout.trim()]).status).toBe(0);
    expect(runCli(['export', path.join(tmp.dir, 'nope.qcow2'), '--blockdev'], { env }).status).toBe(1);
  });
});

describe('relabel / restore --domain', () => {
  it('the profile comes from qemu.conf and the domain, sources printed; --user still wins', () => {
    const all = [c.top, c.topData, c.mid, c.base, c.baseData];
    setContext(all);
    const dac = `<seclabel type='static' model='dac' relabel='yes'><label>+300:+301</label></seclabel>`;
    const dom = write(tmp.dir, 'vm.xml', domainXml([diskElement(levels(), { end: 'terminated' })], dac));
    const dry = runCli(['relabel', '--domain', dom, '--allow-root', tmp.dir, '--dry-run'], { env });
    expect(dry.stderr).toBe('');
    expect(dry.stdout).toMatch(/user +\+300 +← domain <seclabel model='dac' type='static' relabel='yes'> <label>\+300:\+301<\/label>/);
    expect(dry.stdout).toMatch(/relabel .*top\.qcow2 \(dac, owner \+300:\+301\)/);
    expect(dry.stdout).toMatch(/5 files to change/);
    expect(all.map(owner)).toEqual(['0:0', '0:0', '0:0', '0:0', '0:0']);

    const run = runCli(['relabel', '--domain', dom, '--allow-root', tmp.dir, '--no-helper'], { env });
    expect(run.status).toBe(0);
    expect(all.map(owner)).toEqual(Array(5).fill('300:301'));
    expect(libvirtAttrs(c.top)).toMatchObject({ dac: '+0:+0', ref_dac: '1' });

    const restore = runCli(['restore', '--domain', dom, '--allow-root', tmp.dir, '--no-helper'], { env });
    expect(restore.status).toBe(0);
    expect(owner(c.top)).toBe('0:0');
    expect(owner(c.mid)).toBe('300:301');

    const mine = runCli(['relabel', '--domain', dom, '--user', '+9', '--dry-run', '--json'], { env });
    const j = JSON.parse(mine.stdout);
    expect(j.plan.profile.user).toBe('+9');
    expect(j.profileSources.dac.user).toEqual({ value: '+9', source: 'command line --user' });
  });

  it("remember_owner = 0 in qemu.conf and a disk's relabel='no'", () => {
    const conf = write(tmp.dir, 'q2.conf', 'user = "+107"\ngroup = "+107"\nremember_owner = 0\n');
    const second = makeChain3(tmp.dir, 'b-');
    const d1 = diskElement(levels(), { end: 'terminated' });
    const d2 = diskElement([{ file: second.top, format: 'qcow2', seclabel: "<seclabel model='dac' relabel='no'/>" }], { target: 'vdb' });
    const dom = write(tmp.dir, 'vm2.xml', domainXml([d1, d2]));
    // Through the privileged helper, which re-plans with the profile it is sent: the disks'
    // seclabels and remember_owner must survive its request validation.
    // 11.4 finds vdb's data file from its header (10.10-11.3 do not: test/libvirt/version.test.ts).
    const r = runCli(['relabel', '--domain', dom, '--allow-root', tmp.dir, '--qemu-conf', conf, '--libvirt-version', '11.4'], { env });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/remember_owner +no +← .*q2\.conf:3 remember_owner = 0/);
    expect(owner(c.top)).toBe('107:107');
    expect(libvirtAttrs(c.top)).toEqual({});
    expect([second.top, second.topData, second.mid, second.base].map(owner)).toEqual(['0:0', '0:0', '0:0', '0:0']);
  });
});
