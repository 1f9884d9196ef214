// The key order of qemu-img's JSON. qemu builds every object as a QDict (512 hash buckets, each
// bucket a list with the newest key first) and prints it bucket by bucket, so the order depends
// on the keys' hashes, not on the order the fields are declared in.

const BUCKETS = 512;

/** qdict's tdb_hash() of a key, modulo the bucket count. */
function bucketOf(key: string): number {
  const b = Buffer.from(key, 'utf8');
  let v = Math.imul(0x238f13af, b.length) >>> 0;
  for (let i = 0; i < b.length; i++) v = (v + ((b[i]! << ((i * 5) % 24)) >>> 0)) >>> 0;
  return ((Math.imul(1103515243, v) + 12345) >>> 0) % BUCKETS;
}

/** Far deeper than any object qemu-img prints; stops a runaway structure. */
const MAX_DEPTH = 64;

/**
 * `value` with every object's keys in the order qemu prints them. Keys must have been inserted
 * in qemu's order (the QAPI field order) for those that share a bucket: the later one comes first.
 */
export function qemuKeyOrder(value: unknown, depth = 0): unknown {
  if (depth > MAX_DEPTH) throw new Error('qemu-img JSON nested too deep');
  if (Array.isArray(value)) return value.map((x) => qemuKeyOrder(x, depth + 1));
  if (value === null || typeof value !== 'object') return value;
  const keys = Object.keys(value).map((k, i) => ({ k, i, b: bucketOf(k) }));
  keys.sort((x, y) => x.b - y.b || y.i - x.i);
  const out: Record<string, unknown> = {};
  for (const { k } of keys) out[k] = qemuKeyOrder((value as Record<string, unknown>)[k], depth + 1);
  return out;
}
