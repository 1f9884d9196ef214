// Opening files as the VM's user would (uid/gid 107 by default, no capabilities): the proof that
// a fix works is that this process really gets in.
import { spawnSync } from 'node:child_process';

export interface OpenResult {
  path: string;
  ok: boolean;
  code?: string;
}

/**
 * Open each file (read-write when `write`, else read-only) in one process started through
 * setpriv as `uid`/`gid`, with exactly `groups` as supplementary groups.
 */
export function openAs(files: { path: string; write: boolean }[], groups: number[] = [], uid = 107, gid = 107): OpenResult[] {
  const script = `const fs=require('fs');process.stdout.write(JSON.stringify(JSON.parse(process.argv[1]).map(({path,write})=>{try{fs.closeSync(fs.openSync(path,write?'r+':'r'));return{path,ok:true}}catch(e){return{path,ok:false,code:e.code}}})))`;
  const r = spawnSync(
    'setpriv',
    [
      '--reuid',
      String(uid),
      '--regid',
      String(gid),
      groups.length ? `--groups=${groups.join(',')}` : '--clear-groups',
      process.execPath,
      '-e',
      script,
      JSON.stringify(files),
    ],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout);
}
