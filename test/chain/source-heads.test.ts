// Heads share slabs (source.ts): each one keeps its own bytes however many files are read after it.
import { expect, it } from 'vitest';
import { HEAD_SIZE, bufferSource } from '../../electron/node/core/source.js';

it('every head holds its own file’s bytes after many more files are read', () => {
  const files = Array.from({ length: 100 }, (_, i) => Buffer.alloc(i % 7 === 0 ? 13 + i : HEAD_SIZE + i, i + 1));
  const heads = files.map((f) => bufferSource(f).head);
  heads.forEach((h, i) => {
    expect(h.length).toBe(Math.min(files[i]!.length, HEAD_SIZE));
    expect(h.equals(files[i]!.subarray(0, h.length))).toBe(true);
  });
});
