// A scanned folder forest: every file once, references by real path. Plain JSON data.
import type { FormatName, Owner, Problem, ProblemCode, Remembered } from './model.js';

/** Problems that make a chain unusable by qemu/libvirt, so the chain counts as broken. */
export const BREAKING: ReadonlySet<ProblemCode> = new Set<ProblemCode>([
  'missing',
  'unreadable',
  'loop',
  'too-deep',
  'not-regular',
  'device',
  'unsafe-path',
  'invalid-header',
  'unsupported-feature',
  'no-backing-format',
  'bad-name',
]);

export interface ScannedFile {
  path: string;
  format: FormatName | null;
  /** Found under a scanned folder, or only named by an image there. */
  external: boolean;
  isImage: boolean;
  /** As HeaderInfo's: decimal text above 2^53 - 1. */
  virtualSize: number | string | null;
  size: number | null;
  allocated: number | null;
  owner: Owner | null;
  selinux: string | null;
  remembered: Remembered;
  /** Real paths, or the name itself for protocol/network/missing references. */
  backing: string | null;
  dataFile: string | null;
  /** Images naming this file as backing file or data file. */
  usedBy: string[];
  problems: Problem[];
  /** How many internal snapshots a qcow2 image holds; absent when none. */
  snapshots?: number;
}

export interface ScannedChain {
  top: string;
  /** Every file of the chain, top first (data files after their image). */
  files: string[];
  allocated: number;
  broken: boolean;
}

export interface ScanSummary {
  files: number;
  tops: number;
  sharedBases: number;
  dataFiles: number;
  orphans: number;
  broken: number;
  problems: number;
}

export interface ScanResult {
  roots: string[];
  files: ScannedFile[];
  /** Images nothing references. */
  tops: string[];
  /** Images two or more images use as their backing file. */
  sharedBases: string[];
  /** Non-image files (raw) that no image references. */
  orphans: string[];
  chains: ScannedChain[];
  summary: ScanSummary;
}

/** What changed in a scanned forest after files changed on disk (a watcher's update). */
export interface ForestChange {
  /** Records that are new or differ (owner, label, references, users...). */
  upsert: ScannedFile[];
  /** Real paths no longer in the forest. */
  remove: string[];
  /** The files whose headers were read again for this change: only what changed on disk. */
  reread: string[];
  /** How many header reads the update made. */
  reads: number;
  /** Folders that appeared (to watch too). */
  newDirs: string[];
  summary: ScanSummary;
}

/** A scanned forest as the renderer gets it: the files (tops, bases, chains follow from them). */
export interface ForestSnapshot {
  /** This scan's id: deltas and progress name it. */
  id: string;
  roots: string[];
  files: ScannedFile[];
  summary: ScanSummary;
  /** Header reads the scan made. */
  reads: number;
  /** Milliseconds the scan took in the worker. */
  ms: number;
}

/** A watcher's update, pushed to the renderer. */
export interface ForestDelta extends Omit<ForestChange, 'newDirs'> {
  id: string;
  /** Header reads since the scan began, the scan's own included. */
  totalReads: number;
}

export type ScanOutcome =
  | {
      status: 'done';
      forest: ForestSnapshot;
      /**
       * Present when the caller drew the `forest-batch` events (`drawn`): `forest.files` then holds
       * only the files that differ from what the batches sent, and `removed` the paths the batches
       * sent that the scan did not keep. The batches plus this are the whole forest, which is not
       * sent twice. `sent`: how many files the batches sent (0: this answer is whole).
       */
      sinceBatches?: { removed: string[]; sent: number };
    }
  | { status: 'cancelled'; id: string; done: number; total: number };
