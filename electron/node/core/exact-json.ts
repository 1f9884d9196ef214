// JSON text for values that may hold bigints: qemu prints 64-bit integers as plain JSON integers,
// and JSON.stringify can neither write a bigint nor keep a double's precision beyond 2^53.

/** Far deeper than anything printed with it; stops a runaway structure. */
const MAX_DEPTH = 64;

/**
 * `JSON.stringify(value, null, indent)`, except that a bigint is written as its integer digits.
 * Output for bigint-free values is identical to JSON.stringify's.
 */
export function exactJson(value: unknown, indent: number): string {
  const pad = ' '.repeat(indent);
  const write = (v: unknown, at: string, depth: number): string | undefined => {
    if (typeof v === 'bigint') return v.toString();
    if (depth > MAX_DEPTH) throw new Error('JSON nested too deep');
    if (v !== null && typeof v === 'object' && typeof (v as { toJSON?: unknown }).toJSON === 'function') {
      return write((v as { toJSON(): unknown }).toJSON(), at, depth + 1);
    }
    const inner = at + pad;
    if (Array.isArray(v)) {
      if (v.length === 0) return '[]';
      return `[\n${v.map((x) => inner + (write(x, inner, depth + 1) ?? 'null')).join(',\n')}\n${at}]`;
    }
    if (v !== null && typeof v === 'object') {
      const parts: string[] = [];
      for (const [k, x] of Object.entries(v)) {
        const t = write(x, inner, depth + 1);
        if (t !== undefined) parts.push(`${inner}${JSON.stringify(k)}: ${t}`);
      }
      return parts.length ? `{\n${parts.join(',\n')}\n${at}}` : '{}';
    }
    return JSON.stringify(v);
  };
  return write(value, '', 0) ?? '';
}
