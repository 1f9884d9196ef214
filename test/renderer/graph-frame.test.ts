// Framing at a readable zoom and zooming around a point: the viewport arithmetic.
import { describe, expect, it } from 'vitest';
import { FRAME_MARGIN, READABLE_ZOOM, frameViewport, zoomAround } from '../../renderer/graph/frame.js';

const pane = { width: 680, height: 700 };
const card = (i: number) => ({ x: 1000 + i * 392, y: 500, width: 320, height: 140 });

describe('frameViewport', () => {
  it('centres a chain that fits, never above life size', () => {
    const v = frameViewport([card(0)], pane)!;
    expect(v.zoom).toBe(1);
    expect(1000 * v.zoom + v.x).toBeCloseTo((680 - 320) / 2);
    expect(500 * v.zoom + v.y).toBeCloseTo((700 - 140) / 2);
  });

  it('shows the start of a long chain at the readable zoom instead of shrinking it', () => {
    const v = frameViewport(
      Array.from({ length: 20 }, (_, i) => card(i)),
      pane,
    )!;
    expect(v.zoom).toBe(READABLE_ZOOM);
    expect(1000 * v.zoom + v.x).toBeCloseTo(FRAME_MARGIN);
    // The cross axis still fits: centred.
    expect(500 * v.zoom + v.y).toBeCloseTo((700 - 140 * READABLE_ZOOM) / 2);
  });

  it('frames nothing without cards or room', () => {
    expect(frameViewport([], pane)).toBeNull();
    expect(frameViewport([card(0)], { width: 0, height: 0 })).toBeNull();
  });
});

describe('zoomAround', () => {
  it('keeps the point on the same screen spot and clamps the zoom', () => {
    const view = { x: 40, y: -20, zoom: 0.8 };
    const at = { x: 300, y: 200 };
    const z = zoomAround(view, at, 1.5, 0.05, 2);
    expect(z.zoom).toBeCloseTo(1.2);
    expect(at.x * z.zoom + z.x).toBeCloseTo(at.x * view.zoom + view.x);
    expect(at.y * z.zoom + z.y).toBeCloseTo(at.y * view.zoom + view.y);
    expect(zoomAround(view, at, 10, 0.05, 2).zoom).toBe(2);
  });
});
