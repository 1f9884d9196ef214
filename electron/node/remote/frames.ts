// Encoding and decoding the agent's payloads: plain JSON, or gzip+base64 when the JSON text is
// over the threshold (a scan of 11k files is 7 MB of JSON and 174 KB gzipped).
import { gunzipSync, gzipSync } from 'node:zlib';
import { GZ_THRESHOLD, MAX_LINE } from '../../../shared/agent.js';

/** Inflated payloads larger than this are refused: a small gz line must not become gigabytes. */
export const MAX_INFLATED = 256 * 1024 * 1024;

/** `{ ...head, [key]: value }` as one line, or `{ ...head, gz }` when value's JSON is large. */
export function frameLine(head: Record<string, unknown>, key: 'result' | 'data', value: unknown): string {
  const text = JSON.stringify(value ?? null);
  if (text.length <= GZ_THRESHOLD) return `${JSON.stringify({ ...head, [key]: value ?? null })}\n`;
  const gz = gzipSync(text).toString('base64');
  return `${JSON.stringify({ ...head, gz })}\n`;
}

/** The value a `gz` field carries. */
export function inflate(gz: string): unknown {
  if (gz.length > MAX_LINE) throw new Error('compressed payload too long');
  const text = gunzipSync(Buffer.from(gz, 'base64'), { maxOutputLength: MAX_INFLATED }).toString('utf8');
  return JSON.parse(text);
}
