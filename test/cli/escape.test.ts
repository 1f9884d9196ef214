// Finding 5: names from headers, domain XML and the file system reach the terminal escaped.
// Real images from qemu-img whose names hold a newline (forging a `refused:` line), an escape
// sequence, a carriage return and a bidi override; one name patched to invalid UTF-8.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { escapeBytes, escapeName, escapeText, isValidUtf8, terminalSafeJson } from '../../shared/escape.js';
import { diskchain } from '../support/bin.js';
import { patchFile, qemuImg, tempDir } from '../support/qemu.js';
import { stateDir } from '../support/state.js';

/** A backing name that, printed raw, starts a line of its own that looks like a refusal. */
const FORGED = 'refused: /etc/shadow: forged';
const NAME = `./b\n${FORGED}\x1b[31m\rX\u202eY`;
const NAME_SHOWN = `./b\\x0a${FORGED}\\x1b[31m\\x0dX\\u{202e}Y`;
/** A file that exists: the data file of data.qcow2, and a top image's own name. */
const FILE = 'data\nforged\x1b[31m\rX\u2066Y.raw';
const FILE_SHOWN = 'data\\x0aforged\\x1b[31m\\x0dX\\u{2066}Y.raw';
const TOP = 'top\n\x1b]0;title\x07.qcow2';
const TOP_SHOWN = 'top\\x0a\\x1b]0;title\\x07.qcow2';
/** A symlink (a file name: no '/'). */
const LINK = 'link\nrefused: forged';

let tmp: { dir: string; cleanup: () => void };
let env: NodeJS.ProcessEnv;
const who = ['--user', '+107', '--group', '+107'];

beforeAll(() => {
  tmp = tempDir('diskchain-escape-');
  env = { DISKCHAIN_STATE_DIR: stateDir() };
  qemuImg(tmp.dir, 'create', '-q', '-f', 'qcow2', '-u', '-b', NAME, '-F', 'raw', 'named.qcow2', '1M');
  qemuImg(tmp.dir, 'create', '-q', '-f', 'qcow2', '-o', `data_file=${FILE}`, 'data.qcow2', '64K');
  qemuImg(tmp.dir, 'create', '-q', '-f', 'qcow2', TOP, '64K');
  // qemu-img takes names as C strings, but argv from Node is UTF-8: patch two bytes instead.
  const bad = path.join(tmp.dir, 'bad.qcow2');
  qemuImg(tmp.dir, 'create', '-q', '-f', 'qcow2', '-u', '-b', 'badXXname', '-F', 'raw', 'bad.qcow2', '1M');
  const header = fs.readFileSync(bad).subarray(0, 24);
  expect(header.readUInt32BE(16)).toBe('badXXname'.length);
  patchFile(bad, Number(header.readBigUInt64BE(8)) + 3, Buffer.from([0xff, 0xfe]));
});
afterAll(() => tmp.cleanup());

interface Output {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Run the CLI and decode its output strictly: a byte that is not UTF-8 fails the test. */
function run(args: string[]): Output {
  const r = diskchain(args, { env, encoding: 'latin1' });
  const strict = new TextDecoder('utf-8', { fatal: true });
  return {
    status: r.status,
    stdout: strict.decode(Buffer.from(r.stdout, 'latin1')),
    stderr: strict.decode(Buffer.from(r.stderr, 'latin1')),
  };
}

// Anything a terminal acts on besides the newlines diskchain ends its own lines with.
// eslint-disable-next-line no-control-regex -- control characters are what this finds
const RAW_CONTROL = /[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/;

function expectClean(o: Output): void {
  for (const text of [o.stdout, o.stderr]) {
    expect(text).not.toMatch(RAW_CONTROL);
    expect(text.split('\n').filter((l) => /^(refused: \/etc\/shadow|refused: forged|forged)/.test(l))).toEqual([]);
  }
}

const p = (name: string) => path.join(tmp.dir, name);

describe('text output escapes untrusted names', () => {
  it('inspect: backing and data-file names, and the problems that quote them', () => {
    const named = run(['inspect', p('named.qcow2')]);
    expect(named.status).toBe(0);
    expectClean(named);
    expect(named.stdout).toContain(`named '${NAME_SHOWN}'`);
    expect(named.stdout).toMatch(/! missing: .*named '\.\/b\\x0arefused/);

    const data = run(['inspect', p('data.qcow2')]);
    expectClean(data);
    expect(data.stdout).toContain(`data-file ${p(FILE_SHOWN)}  named '${FILE_SHOWN}'`);
  });

  it('inspect: a top that cannot be read is named escaped on stderr', () => {
    const o = run(['inspect', p(`gone\n${FORGED}`)]);
    expect(o.status).toBe(1);
    expectClean(o);
    expect(o.stderr).toContain(`gone\\x0a${FORGED}`);
  });

  it('inspect: a name that is not UTF-8 shows as hex, and no raw byte reaches the terminal', () => {
    const o = run(['inspect', p('bad.qcow2')]);
    expectClean(o);
    expect(o.stdout).toContain('hex 626164fffe6e616d65');
  });

  it('scan: paths of found files and problems', () => {
    const o = run(['scan', tmp.dir]);
    expect(o.status).toBe(0);
    expectClean(o);
    expect(o.stdout).toContain(`    ${p(FILE_SHOWN)}`);
    expect(o.stdout).toContain(p(TOP_SHOWN));
    expect(o.stdout).toContain(NAME_SHOWN);
  });

  it('relabel --dry-run: plan lines and refusal lines', () => {
    const o = run(['relabel', '--dry-run', '--allow-root', tmp.dir, ...who, p('named.qcow2'), p('data.qcow2')]);
    expect(o.status).toBe(2);
    expectClean(o);
    expect(o.stdout).toContain(`data-file ${p(FILE_SHOWN)}`);
    expect(o.stderr).toMatch(/^refused: .*\.\/b\\x0arefused: \/etc\/shadow: forged\\x1b\[31m\\x0dX\\u\{202e\}Y/m);
    expect(o.stderr.trimEnd().split('\n')).toHaveLength(1);
  });

  it('relabel, undo --list and undo: the journal shows the escaped top', () => {
    const applied = run(['relabel', '--no-helper', '--allow-root', tmp.dir, ...who, p(TOP)]);
    expect(applied.stderr).toBe('');
    expect(applied.status).toBe(0);
    expectClean(applied);
    expect(applied.stdout).toContain(`image     ${p(TOP_SHOWN)}`);
    const list = run(['undo', '--list']);
    expectClean(list);
    expect(list.stdout).toContain(p(TOP_SHOWN));
    const undone = run(['undo', '--no-helper']);
    expect(undone.status).toBe(0);
    expectClean(undone);
  });

  it('domain: a <source file> holding &#10; and &#27;', () => {
    const xml = p('dom.xml');
    fs.writeFileSync(
      xml,
      `<domain type='kvm'><name>v&#x202e;m</name><devices><disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/><source file='${tmp.dir}/x&#10;${FORGED}&#27;[31m'/><target dev='vda' bus='virtio'/>
    </disk></devices></domain>`,
    );
    const o = run(['domain', xml, '--qemu-conf', p('none.conf')]);
    expectClean(o);
    expect(o.stdout).toContain('domain v\\u{202e}m');
    expect(o.stdout).toContain(`${tmp.dir}/x\\x0a${FORGED}\\x1b[31m`);
  });

  it('check-access: files, links and blockers', () => {
    fs.symlinkSync(p(FILE), p(LINK));
    const o = run(['check-access', p('named.qcow2'), ...who]);
    expect(o.status).toBe(1);
    expectClean(o);
    expect(o.stdout).toMatch(/BLOCKED backing +.*b\\x0arefused: \/etc\/shadow: forged\\x1b\[31m\\x0dX\\u\{202e\}Y/);
    const linked = run(['check-access', p(LINK), '--readonly', ...who]);
    expectClean(linked);
    expect(linked.stdout).toContain(`link ${p('link\\x0arefused: forged')} → ${p(FILE_SHOWN)}`);
  });
});

describe('escapeText / escapeBytes / escapeName', () => {
  it('makes C0, DEL, C1, bidi controls and lone surrogates visible and doubles backslashes', () => {
    expect(escapeText('a\\b\n\r\t\x1b\x7f\x85\u009b')).toBe('a\\\\b\\x0a\\x0d\\x09\\x1b\\x7f\\x85\\x9b');
    expect(escapeText('\u202a\u202e\u2066\u2069\u202f\u2065')).toBe('\\u{202a}\\u{202e}\\u{2066}\\u{2069}\u202f\u2065');
    expect(escapeText('x\ud800y\udfffz')).toBe('x\\u{d800}y\\u{dfff}z');
    // A pair is one character, and U+FFFD stays.
    expect(escapeText('é 日本 😀 \ufffd')).toBe('é 日本 😀 \ufffd');
  });

  it('shows bytes that are not UTF-8 as \\xNN and decodes the rest', () => {
    const b = (...x: number[]) => Uint8Array.from(x);
    expect(escapeBytes(b(0x61, 0xff, 0xc3, 0xa9, 0x0a, 0x5c))).toBe('a\\xffé\\x0a\\\\');
    // Overlong, surrogate, above U+10FFFF and truncated forms are all invalid.
    expect(escapeBytes(b(0xc0, 0xaf, 0xed, 0xa0, 0x80, 0xf4, 0x90, 0x80, 0x80, 0xe6, 0x97))).toBe(
      '\\xc0\\xaf\\xed\\xa0\\x80\\xf4\\x90\\x80\\x80\\xe6\\x97',
    );
    expect(escapeBytes(b(0xf0, 0x9f, 0x98, 0x80, 0xe2, 0x80, 0xae))).toBe('😀\\u{202e}');
    expect(isValidUtf8(b(0xe6, 0x97, 0xa5))).toBe(true);
    expect(isValidUtf8(b(0xe6, 0x97))).toBe(false);
  });

  it('escapeName uses the raw bytes up to the first NUL when they are not UTF-8', () => {
    expect(escapeName('bad\ufffd', '626164ff')).toBe('bad\\xff');
    expect(escapeName('ok\n', '6f6b0a00ff')).toBe('ok\\x0a');
    expect(escapeName('plain\x1b', null)).toBe('plain\\x1b');
  });

  it('terminalSafeJson escapes what JSON.stringify leaves raw, and JSON reads the same value back', () => {
    const v = { f: 'a\u202eb\x9b\x7f\n' };
    const s = terminalSafeJson(JSON.stringify(v));
    expect(s).not.toMatch(RAW_CONTROL);
    expect(JSON.parse(s)).toEqual(v);
  });
});
