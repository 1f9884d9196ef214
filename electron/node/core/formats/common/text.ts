// Header bytes as text, the way qemu and its JSON writer see them.

/** The bytes of a C string: up to the first NUL. */
export function cString(b: Uint8Array): Buffer {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  const i = buf.indexOf(0);
  return i < 0 ? buf : buf.subarray(0, i);
}

const MIN_CP = [0x80, 0x800, 0x10000, 0x200000, 0x4000000];

/** qemu's mod_utf8_codepoint(): [codepoint or -1, index after the sequence]. */
function modUtf8(b: Uint8Array, s: number): [number, number] {
  let p = s;
  let byte = p < b.length ? b[p]! : 0;
  p++;
  let cp: number;
  if (byte < 0x80) {
    cp = byte;
  } else if (byte >= 0xfe || (byte & 0x40) === 0) {
    cp = -1;
  } else {
    let len = 0;
    let mask = 0x80;
    for (; byte & mask; mask >>= 1) len++;
    cp = byte & (mask - 1);
    for (let i = 1; i < len; i++) {
      byte = p < b.length ? b[p]! : 0;
      if ((byte & 0xc0) !== 0x80) return [-1, p];
      p++;
      cp = cp * 64 + (byte & 0x3f);
    }
    if (cp > 0x10ffff) cp = -1;
    else if ((cp >= 0xfdd0 && cp <= 0xfdef) || (cp & 0xfffe) === 0xfffe) cp = -1;
    else if (cp >= 0xd800 && cp <= 0xdfff) cp = -1;
    else if (cp < MIN_CP[len - 2]! && !(cp === 0 && len === 2)) cp = -1;
  }
  return [cp, p];
}

/**
 * The string qemu-img's JSON shows for these bytes: the C string (up to the first NUL), each
 * invalid (modified) UTF-8 sequence replaced by U+FFFD, as qemu's JSON writer does.
 */
export function qemuText(bytes: Uint8Array): string {
  const s = cString(bytes);
  // Nearly every name is ASCII: nothing to decode or replace.
  let ascii = true;
  for (let i = 0; i < s.length && ascii; i++) ascii = s[i]! < 0x80;
  if (ascii) return s.toString('latin1');
  let out = '';
  let p = 0;
  while (p < s.length && s[p] !== 0) {
    const [cp, next] = modUtf8(s, p);
    out += String.fromCodePoint(cp < 0 ? 0xfffd : cp);
    p = next > p ? next : p + 1;
  }
  return out;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** What is wrong with a file name's bytes (NUL, invalid UTF-8), as short phrases; [] when clean. */
export function nameIssues(raw: Uint8Array): string[] {
  const issues: string[] = [];
  const nul = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).indexOf(0);
  if (nul >= 0) issues.push(`contains a NUL byte at offset ${nul} (qemu uses only the ${nul} bytes before it)`);
  try {
    strictUtf8.decode(raw);
  } catch {
    issues.push('is not valid UTF-8');
  }
  return issues;
}
