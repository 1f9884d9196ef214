// Labels of an image whose header is read come through the descriptor it is read from (the very
// inode checked and read); files never opened (data files) are still read by name, not followed.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { inspect } from '../../electron/node/core/chain.js';
import { readLabels, readLabelsOf } from '../../electron/node/core/fileinfo.js';
import { lsetxattr } from '../../electron/node/native/libc.js';
import { IMAGE_LABEL, ORIGINAL_CONTEXT, PREFIX, makeImageWithData, setContext } from '../support/chain.js';
import { tempDir } from '../support/qemu.js';

const { dir, cleanup } = tempDir('diskchain-labels-fd-');
afterAll(cleanup);

it('readLabelsOf gives the labels of the open inode after its name was replaced', () => {
  const a = path.join(dir, 'a.img');
  const b = path.join(dir, 'b.img');
  fs.writeFileSync(a, 'a');
  fs.writeFileSync(b, 'b');
  lsetxattr(a, `${PREFIX}dac`, '+1:+1');
  lsetxattr(a, `${PREFIX}ref_dac`, '1');
  setContext([b], IMAGE_LABEL);
  const fd = fs.openSync(a, 'r');
  try {
    fs.renameSync(b, a);
    expect(readLabelsOf(fd)).toMatchObject({ selinux: null, remembered: { dac: { label: '+1:+1', refcount: 1 } } });
    expect(readLabels(a)).toMatchObject({ selinux: IMAGE_LABEL, remembered: { dac: null, selinux: null } });
  } finally {
    fs.closeSync(fd);
  }
});

it('an image read and its data file (never opened) both carry their own labels', () => {
  const { image, data } = makeImageWithData(dir, 'withdata');
  setContext([image], IMAGE_LABEL);
  setContext([data], ORIGINAL_CONTEXT);
  lsetxattr(data, `${PREFIX}selinux`, ORIGINAL_CONTEXT);
  const top = inspect(image);
  expect(top.header).not.toBeNull();
  expect(top.selinux).toBe(IMAGE_LABEL);
  expect(top.remembered).toEqual({ dac: null, selinux: null });
  expect(top.dataFile?.selinux).toBe(ORIGINAL_CONTEXT);
  expect(top.dataFile?.remembered.selinux?.label).toBe(ORIGINAL_CONTEXT);
});
