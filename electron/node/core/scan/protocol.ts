// What the scan's worker threads and the thread that scans say to each other (scan-worker.ts,
// pool.ts). A worker reads the listed files of a batch in order and answers with their records.
import type { MessagePort } from 'node:worker_threads';
import type { FileRecord } from './record.js';

export interface ScanWorkerData {
  port: MessagePort;
  /** [0]: bumped by a worker after each answer it posts, so the scanning thread can wait on it. */
  signal: Int32Array;
}

export interface BatchRequest {
  /** A new scan starts afresh: folders' real paths are looked up again. */
  scan: number;
  batch: number;
  paths: string[];
}

/**
 * `records`: the batch's FileRecord[] as JSON text. One string crosses the threads faster than a
 * structured clone of thousands of small objects, and JSON.parse makes them more cheaply.
 */
export type BatchReply = { scan: number; batch: number; records: string } | { scan: number; batch: number; error: string };

/** A batch's records as a worker sends them. */
export function encodeRecords(records: FileRecord[]): string {
  return JSON.stringify(records);
}

/** A batch's records as the scanning thread takes them. */
export function decodeRecords(text: string): FileRecord[] {
  return JSON.parse(text) as FileRecord[];
}
