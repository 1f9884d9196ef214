// The middle ellipsis keeps a long name's start and its distinguishing tail.
import { describe, expect, it } from 'vitest';
import { middleEllipsis } from '../../renderer/text/ellipsis.js';

const layer = (n: number) => `build-runner-ephemeral-overlay-${'x'.repeat(60)}-layer-${String(n).padStart(2, '0')}.qcow2`;

describe('middleEllipsis', () => {
  it('leaves a name that fits alone', () => {
    expect(middleEllipsis('base.qcow2', 34)).toBe('base.qcow2');
    expect(middleEllipsis('x'.repeat(34), 34)).toBe('x'.repeat(34));
  });

  it('keeps the start and the tail from a separator, within the budget', () => {
    const s = middleEllipsis(layer(7), 34);
    expect(s).toBe('build-runner-ephem…-layer-07.qcow2');
    expect(Array.from(s).length).toBe(34);
    expect(middleEllipsis(layer(7), 21, 16)).toBe('build…-layer-07.qcow2');
  });

  it('keeps names that differ only at the end apart', () => {
    const shown = Array.from({ length: 20 }, (_, i) => middleEllipsis(layer(i), 34));
    expect(new Set(shown).size).toBe(20);
  });

  it('keeps the date of a snapshot name in a narrow budget', () => {
    const s = middleEllipsis('db01.snap-2024-01-15T10-00.qcow2', 24);
    expect(s.endsWith('15T10-00.qcow2')).toBe(true);
    expect(s.startsWith('db01')).toBe(true);
    expect(Array.from(s).length).toBeLessThanOrEqual(24);
    // Snapping to a separator never drops the year.
    expect(middleEllipsis('db01.snap-2024-01-12.qcow2', 21, 16)).toBe('db01…2024-01-12.qcow2');
  });

  it('never splits a surrogate pair and respects tiny budgets', () => {
    const s = middleEllipsis('😀'.repeat(40), 10);
    expect(Array.from(s).length).toBe(10);
    expect(s).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/);
    expect(middleEllipsis('abcdef', 1)).toBe('…');
    expect(middleEllipsis('abcdef', 0)).toBe('');
    expect(middleEllipsis('abcdef', 2)).toBe('a…');
  });
});
