// The JSON text of a `json:` name, read under bounds (size, nesting) into Maps (no prototype
// keys), then "deflattened" as libvirt does: `"file.driver":"x"` becomes `"file":{"driver":"x"}`,
// and an object whose keys are exactly 0..n-1 becomes an array.
import { BackingError } from './types.js';

export type Json = string | number | boolean | null | Json[] | JsonObject;
export type JsonObject = Map<string, Json>;

/** Longer than any header can store (qcow2: 1023 bytes, vmdk descriptors: a few KiB). */
export const MAX_JSON_BYTES = 64 * 1024;
/** Nesting libvirt's own cases need is 4; deeper is hostile. */
export const MAX_JSON_DEPTH = 32;

/** Nesting depth of JSON text, counted without recursion (brackets inside strings skipped). */
function depthOf(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{' || c === '[') max = Math.max(max, ++depth);
    else if (c === '}' || c === ']') depth--;
  }
  return max;
}

function convert(v: unknown, depth: number): Json {
  if (depth > MAX_JSON_DEPTH) throw new BackingError(`JSON nested deeper than ${MAX_JSON_DEPTH} levels`);
  if (Array.isArray(v)) return v.map((x) => convert(x, depth + 1));
  if (v !== null && typeof v === 'object') {
    const m: JsonObject = new Map();
    for (const [k, x] of Object.entries(v)) m.set(k, convert(x, depth + 1));
    return m;
  }
  return v as Json;
}

export function parseJsonText(text: string): Json {
  if (text.length > MAX_JSON_BYTES) throw new BackingError(`json: name longer than ${MAX_JSON_BYTES} bytes`);
  if (depthOf(text) > MAX_JSON_DEPTH) throw new BackingError(`JSON nested deeper than ${MAX_JSON_DEPTH} levels`);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new BackingError(`cannot parse json ${text}: ${(e as Error).message}`);
  }
  return convert(raw, 0);
}

export function isObject(v: Json | undefined): v is JsonObject {
  return v instanceof Map;
}

/** An object with keys exactly "0".."n-1" as an array (libvirt's virJSONValueObjectDeflattenArrays). */
function asArray(o: JsonObject): Json[] | null {
  if (o.size === 0) return null;
  const out: Json[] = [];
  for (let i = 0; i < o.size; i++) {
    if (!o.has(String(i))) return null;
    out.push(o.get(String(i))!);
  }
  return out;
}

function deflattenInto(out: JsonObject, key: string, value: Json, depth: number): void {
  if (depth > MAX_JSON_DEPTH) throw new BackingError(`JSON nested deeper than ${MAX_JSON_DEPTH} levels`);
  const dot = key.indexOf('.');
  if (dot < 0) {
    if (out.has(key)) throw new BackingError(`can't deflatten colliding key '${key}'`);
    out.set(key, isObject(value) ? deflatten(value, depth + 1) : value);
    return;
  }
  const head = key.slice(0, dot);
  const tail = key.slice(dot + 1);
  if (head === '' || tail === '') throw new BackingError(`invalid nested value key '${key}'`);
  let inner = out.get(head);
  if (inner === undefined) {
    inner = new Map();
    out.set(head, inner);
  } else if (!isObject(inner)) {
    throw new BackingError('mixing nested objects and values is forbidden in JSON deflattening');
  }
  deflattenInto(inner, tail, value, depth + 1);
}

function arrays(o: JsonObject, depth: number): Json {
  if (depth > MAX_JSON_DEPTH) throw new BackingError(`JSON nested deeper than ${MAX_JSON_DEPTH} levels`);
  for (const [k, v] of o) if (isObject(v)) o.set(k, arrays(v, depth + 1));
  return asArray(o) ?? o;
}

/** libvirt's virJSONValueObjectDeflatten (bounded: each level adds one to `depth`). */
export function deflatten(o: JsonObject, depth = 0): JsonObject {
  const out: JsonObject = new Map();
  for (const [k, v] of o) deflattenInto(out, k, v, depth + 1);
  if (depth > 0) return out;
  const top = arrays(out, 0);
  return isObject(top) ? top : out;
}
