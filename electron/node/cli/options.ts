// Option parsers the commands share.

/** A repeatable option (`--allow-root A --allow-root B`): every value, in order. */
export function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}
