// Where the view looks: framing a set of cards at a readable zoom, and zooming around a point.
// Pure arithmetic on React Flow's viewport ({x, y, zoom}: screen = graph × zoom + x/y).
import type { Box } from './model.js';

export interface Viewport {
  x: number;
  y: number;
  zoom: number;
}

export interface Size {
  width: number;
  height: number;
}

/** Card text is 12 px: below this zoom it would render under 9 px. */
export const READABLE_ZOOM = 0.75;
/** Framing never enlarges past life size. */
export const FRAME_MAX_ZOOM = 1;
/** Room around framed cards, in screen pixels. */
export const FRAME_MARGIN = 32;

/** The box around `boxes` (null when empty). */
export function bounds(boxes: readonly Box[]): Box | null {
  if (!boxes.length) return null;
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  for (const b of boxes) {
    x0 = Math.min(x0, b.x);
    y0 = Math.min(y0, b.y);
    x1 = Math.max(x1, b.x + b.width);
    y1 = Math.max(y1, b.y + b.height);
  }
  return { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
}

/**
 * The viewport showing `boxes` in `pane`: all of them when that keeps text readable, else at the
 * readable zoom with their start (top, left: where a chain's top image sits) in view, to pan from.
 */
export function frameViewport(boxes: readonly Box[], pane: Size, minZoom = READABLE_ZOOM, maxZoom = FRAME_MAX_ZOOM): Viewport | null {
  const b = bounds(boxes);
  if (!b || pane.width <= 0 || pane.height <= 0) return null;
  const roomW = Math.max(1, pane.width - 2 * FRAME_MARGIN);
  const roomH = Math.max(1, pane.height - 2 * FRAME_MARGIN);
  const fit = Math.min(roomW / Math.max(1, b.width), roomH / Math.max(1, b.height));
  const zoom = Math.min(maxZoom, Math.max(minZoom, fit));
  // Per axis: centred when it fits, else its start at the margin.
  const place = (start: number, length: number, room: number, screen: number) =>
    length * zoom <= room ? (screen - length * zoom) / 2 - start * zoom : FRAME_MARGIN - start * zoom;
  return { x: place(b.x, b.width, roomW, pane.width), y: place(b.y, b.height, roomH, pane.height), zoom };
}

/** `view` zoomed by `factor` (clamped) so that the graph point `at` stays where it is on screen. */
export function zoomAround(view: Viewport, at: { x: number; y: number }, factor: number, minZoom: number, maxZoom: number): Viewport {
  const zoom = Math.min(maxZoom, Math.max(minZoom, view.zoom * factor));
  const sx = at.x * view.zoom + view.x;
  const sy = at.y * view.zoom + view.y;
  return { x: sx - at.x * zoom, y: sy - at.y * zoom, zoom };
}
