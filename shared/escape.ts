// Names from image headers, domain XML and the file system reach the terminal. Printed as they
// are, an escape sequence recolours or rewrites the screen, a newline forges a line of output and
// a bidi override reorders it; so every untrusted part of text output goes through escapeText.
// Pure (no Node APIs): the renderer may use it too.
//
// The forms: `\\` for a backslash (so every other backslash starts an escape), `\xNN` for C0,
// DEL, C1 and bytes that are not valid UTF-8, `\u{NNNN}` for bidi overrides and isolates and for
// lone surrogates. Hex is lowercase.

function hex2(n: number): string {
  return `\\x${n.toString(16).padStart(2, '0')}`;
}

function braced(n: number): string {
  return `\\u{${n.toString(16)}}`;
}

/** The escape for one UTF-16 code unit, or null when it is printed as it is. */
function unitEscape(c: number): string | null {
  if (c === 0x5c) return '\\\\';
  if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) return hex2(c);
  if ((c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069)) return braced(c);
  return null;
}

// Everything unitEscape may change, and the surrogates; most text has none and is returned as is.
// eslint-disable-next-line no-control-regex -- control characters are what this finds
const NEEDS_WORK = /[\\\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]/;

/** `s` with control characters, bidi controls, lone surrogates and backslashes made visible. */
export function escapeText(s: string): string {
  if (!NEEDS_WORK.test(s)) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdfff) {
      const next = s.charCodeAt(i + 1);
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        out += s[i]! + s[i + 1]!;
        i++;
      } else {
        out += braced(c);
      }
      continue;
    }
    out += unitEscape(c) ?? s[i]!;
  }
  return out;
}

/**
 * Length of the valid UTF-8 sequence starting at `b[i]`, or 0 when it is not one (WHATWG rules:
 * no overlong forms, no surrogates, nothing above U+10FFFF).
 */
function sequenceLength(b: Uint8Array, i: number): number {
  const c = b[i]!;
  if (c < 0x80) return 1;
  let n: number;
  let lo = 0x80;
  let hi = 0xbf;
  if (c >= 0xc2 && c <= 0xdf) n = 2;
  else if (c >= 0xe0 && c <= 0xef) {
    n = 3;
    if (c === 0xe0) lo = 0xa0;
    if (c === 0xed) hi = 0x9f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4;
    if (c === 0xf0) lo = 0x90;
    if (c === 0xf4) hi = 0x8f;
  } else return 0;
  if (i + n > b.length) return 0;
  const second = b[i + 1]!;
  if (second < lo || second > hi) return 0;
  for (let k = 2; k < n; k++) if ((b[i + k]! & 0xc0) !== 0x80) return 0;
  return n;
}

/** True when every byte belongs to a valid UTF-8 sequence. */
export function isValidUtf8(b: Uint8Array): boolean {
  for (let i = 0; i < b.length;) {
    const n = sequenceLength(b, i);
    if (n === 0) return false;
    i += n;
  }
  return true;
}

/** Decode bytes sequenceLength() found valid (no TextDecoder: shared/ is plain ECMAScript). */
function decodeValid(b: Uint8Array, start: number, end: number): string {
  const points: number[] = [];
  for (let i = start; i < end;) {
    const n = sequenceLength(b, i);
    const c = b[i]!;
    let cp = n === 1 ? c : c & (0xff >> (n + 1));
    for (let k = 1; k < n; k++) cp = (cp << 6) | (b[i + k]! & 0x3f);
    points.push(cp);
    i += n;
  }
  let s = '';
  for (let k = 0; k < points.length; k += 4096) s += String.fromCodePoint(...points.slice(k, k + 4096));
  return s;
}

/** Raw name bytes as text: valid UTF-8 as escapeText shows it, every other byte as `\xNN`. */
export function escapeBytes(b: Uint8Array): string {
  let out = '';
  let runStart = 0;
  const flush = (end: number) => {
    if (end > runStart) out += escapeText(decodeValid(b, runStart, end));
  };
  for (let i = 0; i < b.length;) {
    const n = sequenceLength(b, i);
    if (n === 0) {
      flush(i);
      out += hex2(b[i]!);
      runStart = ++i;
    } else {
      i += n;
    }
  }
  flush(b.length);
  return out;
}

function hexBytes(hex: string): Uint8Array | null {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) return null;
  const b = new Uint8Array(hex.length / 2);
  for (let i = 0; i < b.length; i++) b[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return b;
}

/**
 * A name read from a header: from its raw bytes (hex, up to the first NUL as qemu reads it) when
 * they are not valid UTF-8, so the bad bytes show; otherwise the decoded name.
 */
export function escapeName(name: string, rawHex?: string | null): string {
  const raw = rawHex ? hexBytes(rawHex) : null;
  if (!raw) return escapeText(name);
  const nul = raw.indexOf(0);
  const bytes = nul < 0 ? raw : raw.subarray(0, nul);
  return isValidUtf8(bytes) ? escapeText(name) : escapeBytes(bytes);
}

// What JSON.stringify leaves raw although a terminal acts on it.
const JSON_UNSAFE = /[\x7f-\x9f\u202a-\u202e\u2066-\u2069]/g;

/**
 * JSON text that a terminal shows as it is: DEL, C1 and bidi controls as `\uNNNN`, which JSON
 * reads back as the same characters (JSON.stringify already escapes C0 and lone surrogates).
 */
export function terminalSafeJson(json: string): string {
  return json.replace(JSON_UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
