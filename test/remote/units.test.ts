// The remote layer's pieces without ssh: host URLs, bounded lines, compressed frames, the
// session slots per ControlMaster, the agent's refusal of an over-long line, and the hosts file.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { AgentResponseSchema, GZ_THRESHOLD, MAX_LINE } from '../../shared/agent.js';
import { runAgent } from '../../electron/node/remote/agent.js';
import { frameLine, inflate } from '../../electron/node/remote/frames.js';
import { parseHostSpec } from '../../electron/node/remote/host-spec.js';
import { LineSplitter, LineTooLong } from '../../electron/node/core/lines.js';
import { MAX_SESSIONS_PER_MASTER, masterSlots } from '../../electron/node/remote/slots.js';
import { remoteCommand, shellQuote, sshArgs } from '../../electron/node/remote/ssh.js';
import { diskchain } from '../support/bin.js';
import { tempDir } from '../support/qemu.js';
import { execFileSync } from 'node:child_process';

describe('host URLs', () => {
  it('parses ssh:// and qemu+ssh:// into a normalised id', () => {
    expect(parseHostSpec('ssh://Alice@Hyper1.example:2222')).toEqual({
      user: 'Alice',
      host: 'hyper1.example',
      port: 2222,
      id: 'Alice@hyper1.example:2222',
    });
    expect(parseHostSpec('ssh://h')).toMatchObject({ id: 'h:22', user: undefined, port: undefined });
    expect(parseHostSpec('qemu+ssh://root@kvm2/system').id).toBe('root@kvm2:22');
    expect(parseHostSpec('ssh://[::1]:22').id).toBe('[::1]:22');
  });
  it.each(['ssh://-oProxyCommand=x', 'ssh://-l@h', 'ssh://u@h:0', 'ssh://u@h:99999', 'http://h', 'ssh://h/path', 'ssh://u;rm@h', ''])(
    'refuses %s',
    (s) => expect(() => parseHostSpec(s)).toThrow(),
  );
  it('never turns host-key checking off and ends options before the host', () => {
    const args = sshArgs(parseHostSpec('ssh://u@h:2'), 'true');
    expect(args.join(' ')).toContain('StrictHostKeyChecking=yes');
    expect(args.join(' ')).toContain('BatchMode=yes');
    expect(args.slice(-3)).toEqual(['--', 'h', 'true']);
  });
  it('quotes arguments for the remote shell', () => {
    const arg = `a b'c$(x)`;
    const out = execFileSync('sh', ['-c', `printf %s ${shellQuote(arg)}`], { encoding: 'utf8' });
    expect(out).toBe(arg);
    expect(remoteCommand(['inspect', arg])).toContain(shellQuote(arg));
  });
});

describe('frames and lines', () => {
  it('gzips payloads over the threshold and inflates them back', () => {
    const big = { files: Array.from({ length: 4000 }, (_, i) => `/pool/disk-${i}.qcow2`) };
    expect(JSON.stringify(big).length).toBeGreaterThan(GZ_THRESHOLD);
    const line = JSON.parse(frameLine({ id: 3, ok: true }, 'result', big));
    expect(line.result).toBeUndefined();
    expect(AgentResponseSchema.parse(line)).toHaveProperty('gz');
    expect(inflate(line.gz)).toEqual(big);
    expect(JSON.parse(frameLine({ id: 4, ok: true }, 'result', { a: 1 }))).toEqual({ id: 4, ok: true, result: { a: 1 } });
  });
  it('splits lines across chunks and refuses one over the bound', () => {
    const s = new LineSplitter(10);
    expect(s.push(Buffer.from('ab'))).toEqual([]);
    expect(s.push(Buffer.from('c\nde\nf'))).toEqual(['abc', 'de']);
    expect(() => s.push(Buffer.from('0123456789x'))).toThrow(LineTooLong);
  });
  it('the agent closes on a line over 16 MiB with a typed refusal', async () => {
    const input = new PassThrough();
    const output = new PassThrough();
    const chunks: Buffer[] = [];
    output.on('data', (b: Buffer) => chunks.push(b));
    const done = runAgent({ version: 'test', input, output });
    input.write(Buffer.alloc(MAX_LINE + 1, 0x61));
    expect(await done).toBe(2);
    const lines = Buffer.concat(chunks).toString().trim().split('\n');
    expect(JSON.parse(lines[0]!)).toHaveProperty('hello');
    expect(JSON.parse(lines[1]!)).toMatchObject({ ok: false, error: { code: 'bad-request' } });
  });
});

it('keeps to 8 ssh sessions per ControlMaster and queues the rest', async () => {
  const slots = masterSlots('queue-test@h:22');
  const releases = await Promise.all(Array.from({ length: MAX_SESSIONS_PER_MASTER }, () => slots.acquire()));
  let ninth = false;
  const waiting = slots.acquire().then((r) => ((ninth = true), r));
  await new Promise((r) => setTimeout(r, 20));
  expect(ninth).toBe(false);
  releases[0]!();
  (await waiting)();
  expect(ninth).toBe(true);
  for (const r of releases.slice(1)) r();
  expect(slots.inUse).toBe(0);
});

it('hosts add|list|remove keep hosts.json (0600) and import libvirt URIs', () => {
  const t = tempDir('diskchain-hosts-');
  try {
    fs.mkdirSync(path.join(t.dir, 'libvirt'));
    fs.writeFileSync(
      path.join(t.dir, 'libvirt/libvirt.conf'),
      'uri_aliases = [\n  "kvm1=qemu+ssh://root@kvm1.example/system",\n  "local=qemu:///system",\n]\n',
    );
    const env = { XDG_CONFIG_HOME: t.dir, LIBVIRT_DEFAULT_URI: '' };
    const add = diskchain(['hosts', 'add', 'ssh://u@h2:2200', '--no-connect'], { env });
    expect(add.stderr).toBe('');
    expect(add.stdout).toBe('added u@h2:2200\nadded root@kvm1.example:22\n');
    const file = path.join(t.dir, 'diskchain/hosts.json');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const list = JSON.parse(diskchain(['hosts', 'list', '--json'], { env }).stdout);
    expect(list.map((h: { id: string }) => h.id)).toEqual(['u@h2:2200', 'root@kvm1.example:22']);
    expect(diskchain(['hosts', 'remove', 'ssh://u@h2:2200'], { env }).status).toBe(0);
    expect(JSON.parse(fs.readFileSync(file, 'utf8')).map((h: { id: string }) => h.id)).toEqual(['root@kvm1.example:22']);
    expect(diskchain(['hosts', 'remove', 'u@h2:2200'], { env }).status).not.toBe(0);
  } finally {
    t.cleanup();
  }
});
