// Listing the folders a scan reads: bounded in depth and in entries, symlinked folders not entered.
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Folders deeper than this below a scanned root are not entered. */
const MAX_FOLDER_DEPTH = 32;
/** A scan stops listing after this many entries (a safety net against runaway trees). */
const MAX_ENTRIES = 2_000_000;

/** Called once, as soon as the listing holds `files` files (a scan starts its threads then). */
export interface ListReached {
  files: number;
  then: () => void;
}

/** Every regular file (or symlink to one) below the roots, and the folders entered. */
export function listTree(roots: string[], reached?: ListReached): { files: string[]; dirs: string[] } {
  const files: string[] = [];
  const dirs: string[] = [];
  const stack: Array<[string, number]> = roots.map((r) => [path.resolve(r), 0]);
  let seen = 0;
  while (stack.length) {
    const [dir, depth] = stack.pop()!;
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      continue;
    }
    dirs.push(dir);
    for (const e of entries) {
      if (++seen > MAX_ENTRIES) return { files: files.sort(), dirs };
      const p = `${dir}/${e.name}`;
      if (e.isDirectory()) {
        if (depth < MAX_FOLDER_DEPTH) stack.push([p, depth + 1]);
      } else if (e.isFile() || e.isSymbolicLink()) {
        if (files.push(p) === reached?.files) reached.then();
      }
    }
  }
  return { files: files.sort(), dirs };
}

/** Every regular file (or symlink to one) below the roots, without entering symlinked folders. */
export function listFiles(roots: string[]): string[] {
  return listTree(roots).files;
}
