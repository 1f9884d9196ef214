// A scanned folder forest: every file once, references by real path. Plain JSON data.
import type { FormatName, Owner, Problem, Remembered } from './model.js';

export interface ScannedFile {
  path: string;
  format: FormatName | null;
  /** Found under a scanned folder, or only named by an image there. */
  external: boolean;
  isImage: boolean;
  virtualSize: number | null;
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

