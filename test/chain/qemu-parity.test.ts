// `diskchain inspect --qemu-json` against real qemu-img 7.2 (on PATH) and 10.0 (unpacked by
// scripts/fetch-qemu10.sh), on every kind of image, key by key and in key order. The version is
// chosen the three ways a user can: PATH, $DISKCHAIN_QEMU_IMG, and --qemu-version.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { expectSameQemuJson, IMAGE_KINDS, kindDir, qemuChainInfo } from '../support/image-kinds.js';
import { tempDir } from '../support/qemu.js';
import { QEMU10_MISSING, qemu10Binary } from '../support/qemu10.js';

const QEMU10 = qemu10Binary();
if (!QEMU10) console.log(QEMU10_MISSING);

let dir: string;
let cleanup: () => void;
beforeAll(() => ({ dir, cleanup } = tempDir('qemu-parity-')));
afterAll(() => cleanup());

/** The environment without a qemu-img override, so PATH's qemu-img decides. */
function envWith(qemuImg?: string): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.DISKCHAIN_QEMU_IMG;
  if (qemuImg) env.DISKCHAIN_QEMU_IMG = qemuImg;
  return env;
}

function inspectJson(args: string[], cwd: string, env: NodeJS.ProcessEnv): unknown[] {
  const r = runCli(['inspect', '--qemu-json', ...args], { cwd, env });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return JSON.parse(r.stdout) as unknown[];
}

describe('inspect --qemu-json equals qemu-img 7.2 and 10.0', () => {
  it('compares at least 40 kinds of image', () => expect(IMAGE_KINDS.length).toBeGreaterThanOrEqual(40));

  for (const kind of IMAGE_KINDS) {
    it(kind.name, () => {
      const d = kindDir(dir, kind.name);
      const target = kind.make(d);

      expectSameQemuJson(inspectJson([target], d, envWith()), qemuChainInfo('qemu-img', d, target));
      if (!QEMU10) return;
      const expected10 = qemuChainInfo(QEMU10, d, target);
      expectSameQemuJson(inspectJson([target], d, envWith(QEMU10)), expected10);
      expectSameQemuJson(inspectJson(['--qemu-version', '10.0', target], d, envWith()), expected10);
    });
  }
});
