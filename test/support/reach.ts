// Let an unprivileged test user reach a folder (the checkout, whose node_modules and sources it
// runs): each folder on the way that others may not search gets a `u:UID:--x` ACL entry, as a
// person would give one. A clone in `mktemp -d` (0700) is such a folder.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Returns what takes the entries away again. */
export function letUidReach(uid: number, dir: string): () => void {
  const opened: string[] = [];
  for (let p = path.resolve(dir); ; p = path.dirname(p)) {
    const st = fs.statSync(p);
    if (!(st.mode & 0o001) && st.uid !== uid) {
      const r = spawnSync('setfacl', ['-m', `u:${uid}:--x`, p], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`setfacl on ${p}: ${r.stderr}`);
      opened.push(p);
    }
    if (p === '/') break;
  }
  return () => {
    for (const p of opened) spawnSync('setfacl', ['-x', `u:${uid}`, p]);
  };
}
