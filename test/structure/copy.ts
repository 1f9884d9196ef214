// Throwaway copies of the checkout for the structure tests: sources and configs copied, the
// installed packages linked, so a probe can break a boundary without touching the real tree.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '../..');

// Git's own folder, installed packages (linked instead), build output and recordings. .tsbuild/ is
// copied: with timestamps kept, `tsc -b` in a copy rechecks only what changed since the checkout's
// last typecheck (the probe and whatever depends on it).
const SKIP = new Set(['.git', 'node_modules', 'dist', 'test-results', '.bench']);

/** Copy the checkout into the empty folder `dest`, then write `probes` (path in the tree → text). */
export function copyCheckout(dest: string, probes: Record<string, string> = {}): string {
  for (const entry of fs.readdirSync(ROOT)) {
    if (!SKIP.has(entry)) fs.cpSync(path.join(ROOT, entry), path.join(dest, entry), { recursive: true, preserveTimestamps: true });
  }
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dest, 'node_modules'), 'dir');
  for (const [file, text] of Object.entries(probes)) {
    fs.mkdirSync(path.dirname(path.join(dest, file)), { recursive: true });
    fs.writeFileSync(path.join(dest, file), text);
  }
  return dest;
}

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run `cmd args` in `cwd` to the end; a non-zero exit is a result, not an error. */
export function run(cwd: string, cmd: string, args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { cwd, encoding: 'utf8', maxBuffer: 64 << 20, timeout: 170_000 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') reject(err);
      else resolve({ code: err ? Number(err.code) : 0, stdout, stderr });
    });
  });
}

/** `tsc -b projects` in a copy (the copy's linked TypeScript). */
export function tscBuild(cwd: string, ...projects: string[]): Promise<Run> {
  return run(cwd, process.execPath, ['node_modules/typescript/bin/tsc', '-b', ...projects]);
}

export interface LintMessage {
  file: string;
  rule: string | null;
  message: string;
}

/** ESLint with the copy's config on `files`; every error it reports, paths relative to the copy. */
export async function lintErrors(cwd: string, ...files: string[]): Promise<LintMessage[]> {
  const r = await run(cwd, process.execPath, ['node_modules/eslint/bin/eslint.js', '--format', 'json', ...files]);
  if (r.code !== 0 && r.code !== 1) throw new Error(`eslint failed to run (exit ${r.code}):\n${r.stderr}`);
  const results = JSON.parse(r.stdout) as {
    filePath: string;
    messages: { ruleId: string | null; severity: number; message: string }[];
  }[];
  return results.flatMap((f) =>
    f.messages.filter((m) => m.severity === 2).map((m) => ({ file: path.relative(cwd, f.filePath), rule: m.ruleId, message: m.message })),
  );
}
