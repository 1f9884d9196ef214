// A backing or data-file name as libvirt reads it (virStorageSourceNewFromBackingAbsolute):
// a plain file name; `fat:DIR`; `json:{...}`; a URI (anything with "://"); else a colon form.
import { parseColon } from './colon.js';
import { parseJsonName } from './json.js';
import { BackingError, assignDefaultPorts, type Parsed } from './types.js';
import { parseUriName } from './uri.js';

export { BackingError, type Parsed } from './types.js';
export { sourceXml } from './xml.js';

/** virStorageIsFile: no ':' before the first '/' (`./a:b` is a file, `a:b` is not). */
export function isFileName(name: string): boolean {
  const colon = name.indexOf(':');
  if (colon < 0) return true;
  const slash = name.indexOf('/');
  return slash >= 0 && slash < colon;
}

/** libvirt's reading of `name`, or BackingError with libvirt's reason for refusing it. */
export function parseBacking(name: string): Parsed {
  if (isFileName(name)) return { source: { type: 'file', path: name }, inlineAuth: false };
  if (name.startsWith('fat:')) return { source: { type: 'dir', path: name.slice(4) }, inlineAuth: false };
  let parsed: Parsed;
  if (name.startsWith('json:')) parsed = parseJsonName(name.slice(5));
  else if (name.includes('://')) parsed = parseUriName(name);
  else parsed = { source: parseColon(name), inlineAuth: false };
  assignDefaultPorts(parsed.source);
  return parsed;
}

/** parseBacking without throwing: the refusal as text. */
export function tryParseBacking(name: string): Parsed | { error: string } {
  try {
    return parseBacking(name);
  } catch (e) {
    if (e instanceof BackingError) return { error: e.message };
    throw e;
  }
}
