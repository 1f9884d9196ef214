// Human-readable renderings shared by the terminal and the renderer.
import type { Owner } from './model.js';

/** `-rw-r--r--`, `drwxr-x---`, with setuid/setgid/sticky as ls shows them. */
export function modeString(mode: number): string {
  const type = (mode & 0o170000) >>> 12;
  const t = { 0o1: 'p', 0o2: 'c', 0o4: 'd', 0o6: 'b', 0o10: '-', 0o12: 'l', 0o14: 's' }[type] ?? '?';
  const bit = (m: number, c: string) => (mode & m ? c : '-');
  const special = (x: boolean, s: boolean, lower: string, upper: string) => (s ? (x ? lower : upper) : x ? 'x' : '-');
  return (
    t +
    bit(0o400, 'r') +
    bit(0o200, 'w') +
    special(!!(mode & 0o100), !!(mode & 0o4000), 's', 'S') +
    bit(0o040, 'r') +
    bit(0o020, 'w') +
    special(!!(mode & 0o010), !!(mode & 0o2000), 's', 'S') +
    bit(0o004, 'r') +
    bit(0o002, 'w') +
    special(!!(mode & 0o001), !!(mode & 0o1000), 't', 'T')
  );
}

/** `qemu:kvm (107:107)`; a missing name shows as the number. */
export function ownerString(o: Owner): string {
  return `${o.user ?? o.uid}:${o.group ?? o.gid} (${o.uid}:${o.gid})`;
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];

/** 1536 → "1.5 KiB", as qemu-img's human output does (binary units); text is a decimal size. */
export function humanSize(bytes: number | string): string {
  let v = Number(bytes);
  let i = 0;
  while (v >= 1024 && i < UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  const s = i === 0 ? String(v) : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
  return `${s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s} ${UNITS[i]}`;
}
