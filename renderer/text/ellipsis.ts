// Middle ellipsis for file names: chains often name every layer alike and differ only at the
// end (a date, a layer number, the extension), so the tail is what must stay visible.

/** Characters kept at the end, before snapping to a separator. */
export const TAIL_CHARS = 18;
/**
 * A separator this close to the start of the tail begins it ("…-layer-07.qcow2", not
 * "…yer-07.qcow2"), unless that would drop a digit (the year of "…2024-01-12.qcow2").
 */
const SNAP = 6;
const SEPARATORS = new Set(['-', '_', '.', ' ', '+', '@', ':']);

/**
 * `text` shortened to at most `max` characters (code points, so no surrogate pair is cut) by
 * replacing its middle with "…", keeping the start and about the last `tail` characters.
 */
export function middleEllipsis(text: string, max: number, tail = TAIL_CHARS): string {
  const chars = Array.from(text);
  if (chars.length <= max) return text;
  if (max < 2) return '…'.slice(0, Math.max(0, max));
  // At least one character of the start stays, so the name is still recognisable.
  let keep = Math.min(tail, max - 2);
  let from = chars.length - keep;
  for (let i = 0; i < Math.min(SNAP, keep - 1); i++) {
    const c = chars[from + i]!;
    if (c >= '0' && c <= '9') break;
    if (SEPARATORS.has(c)) {
      from += i;
      keep -= i;
      break;
    }
  }
  const head = max - 1 - keep;
  return `${chars.slice(0, head).join('')}…${chars.slice(from).join('')}`;
}
