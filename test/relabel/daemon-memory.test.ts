// The boot time read from a running libvirt daemon's memory: a real process (python) maps a file
// named libvirt.so.0 writable and private, as the dynamic loader maps libvirt's data, and holds
// values in it; the reader must find the one boot-time-like value there and nowhere else.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { daemonMemoryBootTime, libvirtDataRanges } from '../../electron/node/core/daemon-memory.js';
import { tempDir } from '../support/qemu.js';

const HOLDER = `
import mmap, os, struct, sys
lib, anon_vals, lib_vals = sys.argv[1], sys.argv[2], sys.argv[3]
# The anonymous mapping first and a spacer between, unmapped after: mappings grow downwards, so
# the anonymous one does not begin where the library ends (that would be the library's .bss).
a = mmap.mmap(-1, 65536)
spacer = mmap.mmap(-1, 4096)
fd = os.open(lib, os.O_RDWR)
m = mmap.mmap(fd, 65536, flags=mmap.MAP_PRIVATE, prot=mmap.PROT_READ | mmap.PROT_WRITE)
spacer.close()
for i, v in enumerate(x for x in lib_vals.split(',') if x):
    m[4096 + 8 * i * 37: 4096 + 8 * i * 37 + 8] = struct.pack('<Q', int(v))
for i, v in enumerate(x for x in anon_vals.split(',') if x):
    a[8 * i: 8 * i + 8] = struct.pack('<Q', int(v))
print('ready', flush=True)
sys.stdin.read()
`;

const isRoot = process.getuid?.() === 0;
const BOOT = 1796030645;
let holders: ChildProcess[] = [];
let dirs: { cleanup: () => void }[] = [];

afterEach(() => {
  for (const h of holders) h.kill('SIGKILL');
  for (const d of dirs) d.cleanup();
  holders = [];
  dirs = [];
});

/** A process holding `inLib` in its libvirt.so.0 mapping and `elsewhere` in an anonymous one. */
async function holder(inLib: number[], elsewhere: number[] = []): Promise<number> {
  const t = tempDir('diskchain-libvirt-so-');
  dirs.push(t);
  const lib = path.join(t.dir, 'libvirt.so.0');
  fs.writeFileSync(lib, Buffer.alloc(65536));
  const p = spawn('python3', ['-c', HOLDER, lib, elsewhere.join(','), inLib.join(',')], { stdio: ['pipe', 'pipe', 'inherit'] });
  holders.push(p);
  await new Promise<void>((resolve, reject) => {
    p.stdout!.on('data', (d) => String(d).includes('ready') && resolve());
    p.once('exit', (c) => reject(new Error(`holder exited ${c}`)));
  });
  return p.pid!;
}

describe.skipIf(!isRoot)("a root daemon's libvirt.so data", () => {
  it('yields the one value within two seconds of the kernel boot time, either side', async () => {
    expect(daemonMemoryBootTime(await holder([BOOT + 1]), BOOT)).toBe(BOOT + 1);
    expect(daemonMemoryBootTime(await holder([BOOT - 1, 7, BOOT + 900]), BOOT)).toBe(BOOT - 1);
  });

  it('yields nothing when two such values disagree, or only other mappings hold one', async () => {
    expect(daemonMemoryBootTime(await holder([BOOT, BOOT + 1]), BOOT)).toBeNull();
    expect(daemonMemoryBootTime(await holder([], [BOOT]), BOOT)).toBeNull();
  });

  it('yields nothing for a process that is not root, nor for a pid that is gone', async () => {
    const pid = await holder([BOOT]);
    const t = tempDir('diskchain-fake-proc-');
    dirs.push(t);
    // A copy of the process folder's view, owned by a user: the reader checks the owner first.
    fs.mkdirSync(path.join(t.dir, String(pid)));
    fs.copyFileSync(`/proc/${pid}/maps`, path.join(t.dir, String(pid), 'maps'));
    fs.chownSync(path.join(t.dir, String(pid)), 1000, 1000);
    expect(daemonMemoryBootTime(pid, BOOT, t.dir)).toBeNull();
    expect(daemonMemoryBootTime(2 ** 31, BOOT)).toBeNull();
  });
});

describe('the ranges read', () => {
  it("are libvirt.so's writable mappings and the anonymous .bss right after them, nothing else", () => {
    const maps = [
      '7f0000000000-7f0000001000 r--p 00000000 fe:00 1 /usr/lib/x86_64-linux-gnu/libvirt.so.0.11003.0',
      '7f0000001000-7f0000002000 rw-p 00001000 fe:00 1 /usr/lib/x86_64-linux-gnu/libvirt.so.0.11003.0',
      '7f0000002000-7f0000004000 rw-p 00000000 00:00 0 ',
      '7f0000004000-7f0000005000 rw-p 00000000 00:00 0 ',
      '7f0000010000-7f0000011000 rw-p 00000000 fe:00 2 /usr/lib/x86_64-linux-gnu/libvirt-qemu.so.0.11003.0',
      '7f0000011000-7f0000012000 rw-p 00000000 00:00 0 ',
      '7f0000020000-7f0000021000 rw-p 00000000 fe:00 3 /home/u/libvirt.so.0 (deleted)',
    ].join('\n');
    expect(libvirtDataRanges(maps)).toEqual([
      { start: 0x7f0000001000n, end: 0x7f0000002000n },
      { start: 0x7f0000002000n, end: 0x7f0000004000n },
    ]);
  });
});
