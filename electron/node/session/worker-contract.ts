// The one contract between the owning process and the inspection worker, as the renderer's is
// shared/ipc.ts: each op's argument tuple and answer. worker.ts calls through it and
// inspect-worker.ts implements it as a table keyed by op, so an unknown op, wrong arguments, or an
// op the worker lacks do not compile. Types only (besides the cancel text): the owning process
// never loads the parsers by importing this.
import type { AccessProfile, AccessReport } from '../../../shared/access.js';
import type { DomainReport } from '../../../shared/domain.js';
import type { Disk, OpenResult, ProfileInput } from '../../../shared/ipc.js';
import type { Action, Plan, VmProfile } from '../../../shared/plan.js';
import type { ForestChange, ForestSnapshot, ScannedFile } from '../../../shared/scan.js';
import type { Denial } from '../../../shared/verdict.js';
import type { ExportOptions } from '../libvirt/export.js';
import type { OpenDomainInput } from '../libvirt/index.js';

/** A disk as the renderer gets it: the chain, plus what qemu-img would print for it. */
export type DiskWithQemu = Disk & { qemu: NonNullable<Disk['qemu']> };

/** An opened image or folder; `folder` is the folder's real path when a folder was given. */
export type OpenedPath = OpenResult & { disks: DiskWithQemu[]; folder: string | null };

export type DomainInput = Pick<OpenDomainInput, 'file' | 'text' | 'virshName'>;

export interface AccessResult {
  report: AccessReport;
  /** The previewed fix; null when nothing blocks. */
  plan: Plan | null;
}

export interface ScanDone {
  forest: ForestSnapshot;
  /** Folders entered, for the watcher. */
  dirs: string[];
}

export type ForestUpdate = ForestChange & { totalReads: number };

/** A scan's error text when it was cancelled: the owning process tells a cancel from a failure by it. */
export const CANCELLED = 'scan cancelled';

export interface WorkerContract {
  /** Open one image or folder (an absolute path); with `foldersOnly`, a folder is only named back. */
  open: { args: [path: string, foldersOnly: boolean]; result: OpenedPath };
  /** Preview a change; `profile` comes from the relabel form or from a domain the owner resolved. */
  plan: { args: [action: Action, top: string, profile: ProfileInput | VmProfile, openedFolders: string[]]; result: Plan };
  /**
   * Scan folders as forest `id`; `cancel` is shared memory set to 1 to stop between two files.
   * Reports progress, with whole trees as they are known: the files reported, merged by path in
   * order, are the answer's.
   */
  scan: { args: [id: string, roots: string[], cancel: Int32Array]; result: ScanDone };
  /** Read the changed paths of forest `id` again; null when the worker holds no such forest. */
  updateForest: { args: [id: string, paths: string[]]; result: ForestUpdate | null };
  dropForest: { args: [id: string]; result: void };
  /** Start the scan threads now: a remote host's agent does on connect, so its first scan streams at once. */
  warmScan: { args: []; result: void };
  domain: { args: [input: DomainInput]; result: { report: DomainReport } };
  /** Check the chain at `top` for the VM's user, and preview the fix when something blocks. */
  access: { args: [top: string, profile: AccessProfile]; result: AccessResult };
  /** The chain of `top`, read again now, as libvirt's <disk> XML or qemu's -blockdev arguments. */
  exportChain: { args: [top: string, kind: 'libvirt-xml' | 'blockdev', opts: ExportOptions]; result: { text: string } };
  /** The denial records of `text` explained; AVC records' files are looked for in `dirs`. */
  explain: { args: [text: string, dirs: string[]]; result: { denials: Denial[]; skippedLines: number } };
}

export type WorkerOp = keyof WorkerContract;
export type WorkerArgs<K extends WorkerOp> = WorkerContract[K]['args'];
export type WorkerResult<K extends WorkerOp> = WorkerContract[K]['result'];

/** A long op's progress while it runs; a scan gives its forest's files so far too (see forest-ops.ts). */
export type Report = (done: number, total: number, files?: ScannedFile[]) => void;

/** What the worker implements: every op, taking its arguments after the progress callback. */
export type WorkerTable = {
  [K in WorkerOp]: (report: Report, ...args: WorkerArgs<K>) => WorkerResult<K> | Promise<WorkerResult<K>>;
};

export interface RequestOf<K extends WorkerOp> {
  id: number;
  op: K;
  args: WorkerArgs<K>;
}
export type WorkerRequest = { [K in WorkerOp]: RequestOf<K> }[WorkerOp];

export type WorkerReply =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; error: string }
  | { id: number; progress: [done: number, total: number]; files?: ScannedFile[] };
