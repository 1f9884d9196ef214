// `diskchain why --from-log`: real record formats naming the test's files, the layer and subject found.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Denial } from '../../shared/verdict.js';
import { why, whyChain, WHO, type WhyChain } from './helpers.js';

const root = process.getuid?.() === 0;
let c: WhyChain;

beforeEach(() => {
  c = whyChain();
});
afterEach(() => c.cleanup());

function explain(log: string, ...args: string[]): { status: number | null; denials: Denial[]; stderr: string } {
  const r = why(['--from-log', '-', '--json', ...args], { input: log });
  return { status: r.status, denials: r.stdout ? (JSON.parse(r.stdout) as Denial[]) : [], stderr: r.stderr };
}

function avc(file: string, scontext: string, tcontext: string): string {
  const st = fs.statSync(file);
  return `type=AVC msg=audit(1700000000.123:456): avc:  denied  { read write } for  pid=4242 comm="qemu-system-x86" name="${path.basename(file)}" dev="vda" ino=${st.ino} scontext=${scontext} tcontext=${tcontext} tclass=file permissive=0`;
}

describe.skipIf(!root)('diskchain why --from-log', () => {
  it("qemu's message: the file, its chain top, and the owner that blocks the given user", () => {
    fs.chownSync(c.base, 0, 0);
    fs.chmodSync(c.base, 0o600);
    const r = explain(`qemu-system-x86_64: -blockdev x: Could not open '${c.base}': Permission denied\n`, ...WHO);
    expect(r.status).toBe(1);
    expect(r.denials).toHaveLength(1);
    expect(r.denials[0]).toMatchObject({ source: 'qemu', file: c.base, top: c.top, layers: ['owner'] });
    expect(r.denials[0]!.verdict).toMatchObject({ state: 'blocked', subject: { uid: 107 } });
  });

  it("libvirt's message names the subject: uid and gid from the record", () => {
    fs.chmodSync(c.top, 0o400);
    const log = `2026-01-01 10:00:00.000+0000: 1234: error : virStorageFileReportBrokenChain:4889 : Cannot access storage file '${c.top}' (as uid:107, gid:107): Permission denied`;
    const r = explain(log);
    expect(r.denials[0]).toMatchObject({ source: 'libvirt', file: c.top, top: c.top, subject: { uid: 107, gid: 107 }, layers: ['mode'] });
  });

  it('SELinux AVC records: the file found by inode under --in, the type or the MCS categories', () => {
    const log = [
      avc(c.base, 'system_u:system_r:svirt_t:s0:c1,c2', 'unconfined_u:object_r:user_home_t:s0'),
      avc(c.top, 'system_u:system_r:svirt_t:s0:c1,c2', 'system_u:object_r:svirt_image_t:s0:c3,c4'),
      avc(c.top, 'system_u:system_r:svirt_t:s0:c1,c2', 'system_u:object_r:svirt_image_t:s0:c1,c2'),
    ].join('\n');
    const r = explain(log, '--in', c.root, ...WHO);
    expect(r.denials.map((d) => [d.file, d.layers])).toEqual([
      [c.base, ['selinux-type']],
      [c.top, ['selinux-mcs']],
      [c.top, ['selinux']],
    ]);
    expect(r.denials[0]!.subject.scontext).toBe('system_u:system_r:svirt_t:s0:c1,c2');
    expect(r.denials[0]!.top).toBe(c.top);
    // Without a folder to look in, the file is not found, and that is said.
    const lost = explain(log.split('\n')[0]!, ...WHO);
    expect(lost.denials[0]!.file).toBeNull();
    expect(lost.denials[0]!.problems[0]).toContain('use --in DIR');
  });

  it('AppArmor records: the missing rule, the profile and fsuid as the subject', () => {
    const log = `[ 1234.5678] audit: type=1400 audit(1700000000.1:77): apparmor="DENIED" operation="open" profile="libvirt-0f8d1e9c-1111-2222-3333-444455556666" name="${c.top}" pid=999 comm="qemu-system-x86" requested_mask="wr" denied_mask="wr" fsuid=107 ouid=107`;
    // The record gives the uid; the group is the given one, as no passwd entry names uid 107 here.
    const r = explain(log, '--user', '+5', '--group', '+107');
    expect(r.denials[0]).toMatchObject({
      source: 'apparmor',
      file: c.top,
      layers: ['apparmor-rule'],
      subject: { uid: 107, profile: 'libvirt-0f8d1e9c-1111-2222-3333-444455556666' },
    });
    expect(r.denials[0]!.verdict?.subject).toMatchObject({ uid: 107, gid: 107 });
  });

  it('hostile lines: overlong ones skipped, control characters escaped, a file argument read', () => {
    const evil = path.join(c.dir, 'evil\x1b[31m.qcow2');
    const log = [`${'A'.repeat(100_000)} Could not open '${c.top}': Permission denied`, `Could not open '${evil}': Permission denied`].join(
      '\n',
    );
    const file = path.join(c.root, 'log.txt');
    fs.writeFileSync(file, log);
    const r = why(['--from-log', file, ...WHO]);
    expect(r.stdout).not.toContain('\x1b');
    expect(r.stdout).toContain('evil\\x1b[31m.qcow2');
    expect(r.stdout).toContain('1 line(s) too long to read were skipped');
    expect(r.stdout).not.toContain(`file: ${c.top}`);
    const fifo = why(['--from-log', c.dir, ...WHO]);
    expect(fifo.status).toBe(2);
    expect(fifo.stderr).toContain(c.dir);
  });
});
