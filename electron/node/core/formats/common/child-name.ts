// How qemu reads a child's name (backing file, data file) out of a header, and what it shows.
import type { Problem } from '../../../../../shared/model.js';
import type { ChildName } from '../types.js';
import { cString, nameIssues, qemuText } from './text.js';

/**
 * How qemu reads a length-delimited name into a C buffer: the bytes up to the first NUL count.
 * Returns the child (raw = exact header bytes) or null when qemu sees no name, plus problems.
 */
export function childFromName(
  raw: Buffer,
  format: string | null,
  label: string,
  opts: { pastEof?: boolean; emptyIsProblem?: boolean } = {},
): { child: ChildName | null; problems: Problem[] } {
  const problems: Problem[] = [];
  const effective = cString(raw);
  if (raw.length === 0) {
    if (opts.emptyIsProblem) problems.push({ code: 'bad-name', message: `The ${label} name is empty` });
    return { child: null, problems };
  }
  if (opts.pastEof) {
    problems.push({
      code: 'bad-name',
      message: `The ${label} name (${raw.length} bytes) lies past the end of the file; qemu reads zeros there and sees no ${label}`,
    });
    return { child: null, problems };
  }
  if (effective.length === 0) {
    problems.push({
      code: 'bad-name',
      message: `The ${label} name (${raw.length} bytes) starts with a NUL byte; qemu sees an empty name and no ${label}`,
    });
    return { child: null, problems };
  }
  const issues = nameIssues(raw);
  if (issues.length) problems.push({ code: 'bad-name', message: `The ${label} name ${issues.join(' and ')}` });
  return { child: { raw: Buffer.from(raw), format }, problems };
}

/**
 * Whether a name read at `offset` lay past the end of the file: qemu then read zeros and sees no
 * name at all (a NUL first), which childFromName reports as such.
 */
export function namePastEof(offset: bigint | number, raw: Buffer, fileSize: number): boolean {
  return raw.length > 0 && BigInt(offset) + BigInt(raw.length) > BigInt(fileSize) && cString(raw).length === 0;
}

/** The backing keys of qemu-img's JSON, as qemu's JSON writer shows the name. */
export function backingExtra(backing: ChildName | null): Record<string, unknown> {
  const extra: Record<string, unknown> = {};
  if (backing) {
    extra['backing-filename'] = qemuText(backing.raw);
    if (backing.format !== null) extra['backing-filename-format'] = backing.format;
  }
  return extra;
}
