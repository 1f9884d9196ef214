// When state updates that arrive many times a frame are drawn: in an animation frame, and while
// data streams in, at most every few hundred milliseconds (each drawing is a frame of work; eight
// hosts streaming would otherwise have the window redraw every frame). A timer stands in for
// animation frames where there are none (the unit tests' Node).

/** While data streams in, what is on screen is brought up to date this often. */
export const DRAW_EVERY_MS = 200;

/** Run `run` in an animation frame, after `delayMs` at least; returns a cancel. */
export function inFrame(run: () => void, delayMs = 0): () => void {
  let frame: number | null = null;
  const timer = setTimeout(
    () => {
      if (typeof requestAnimationFrame === 'function') frame = requestAnimationFrame(run);
      else run();
    },
    Math.max(0, delayMs),
  );
  return () => {
    clearTimeout(timer);
    if (frame !== null) cancelAnimationFrame(frame);
  };
}
