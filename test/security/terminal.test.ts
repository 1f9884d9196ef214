// FINDING 5 — terminal injection. The attacker's image names a backing file whose name holds a
// newline, a carriage return and escape sequences: root's terminal must show them as text, and
// no line of diskchain's output may be one the attacker wrote.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { patchFile } from '../support/qemu.js';
import {
  IS_ROOT,
  NOT_ROOT,
  RAW_CONTROL,
  expectNoDeviceOpened,
  expectUntouched,
  ownerArgs,
  qemuImgAs,
  stateEnv,
  tracedDiskchain,
  useWorld,
  watch,
} from './support.js';

const world = useWorld();

const FORGED = 'refused: /etc/shadow: forged';
/** A forged refusal line, a carriage return, a screen clear and a window-title OSC. */
const EVIL = `b\n${FORGED}\r\x1b[2J\x1b]0;owned\x07\x9b31m`;

describe.skipIf(!IS_ROOT)(`terminal injection through names (${NOT_ROOT})`, () => {
  // FINDING 5: relabel --dry-run of att/x.qcow2 whose backing name is EVIL.
  it('relabel --dry-run prints no raw control byte and no line the attacker wrote', () => {
    const w = world();
    const evilBytes = Buffer.from(EVIL, 'utf8');
    const placeholder = 'B'.repeat(evilBytes.length);
    qemuImgAs(w.attacker, w.att, ['create', '-q', '-f', 'qcow2', '-u', '-F', 'raw', '-b', placeholder, 'x.qcow2', '1M']);
    const img = path.join(w.att, 'x.qcow2');
    patchFile(img, fs.readFileSync(img).indexOf(placeholder), evilBytes);
    const x = watch(w, [img]);
    const r = tracedDiskchain(
      ['relabel', '--dry-run', '--driver', 'dac', ...ownerArgs(w.attacker), '--allow-root', w.att, img],
      stateEnv(w),
    );
    const output = r.stdout + r.stderr;
    expect(output).toContain('refused');
    // As code points, so that a failure report does not itself drive the terminal.
    const controls = [...output].filter((c) => RAW_CONTROL.test(c)).map((c) => `U+${c.codePointAt(0)!.toString(16).padStart(4, '0')}`);
    expect(controls).toEqual([]);
    expect(output.split('\n').filter((l) => l.startsWith(FORGED))).toEqual([]);
    expectUntouched(x);
    expectNoDeviceOpened(r.trace);
  });
});
