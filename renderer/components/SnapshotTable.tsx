// A qcow2 image's internal snapshots, as `qemu-img snapshot -l` lists them.
import type { Snapshot } from '../../shared/model.js';
import { humanSize } from '../../shared/text.js';

function when(s: Snapshot): string {
  return new Date(s.dateSec * 1000).toISOString().replace('T', ' ').slice(0, 19);
}

function clock(ns: number | string): string {
  const n = typeof ns === 'number' ? ns : Number(ns);
  const secs = Math.floor(n / 1e9);
  const hms = [Math.floor(secs / 3600), Math.floor(secs / 60) % 60, secs % 60].map((x) => String(x).padStart(2, '0')).join(':');
  return `${hms}.${String(Math.floor((n % 1e9) / 1e6)).padStart(3, '0')}`;
}

export function SnapshotTable({ snapshots }: { snapshots: Snapshot[] }) {
  return (
    <table className="snapshots" data-testid="snapshot-table">
      <thead>
        <tr>
          <th>ID</th>
          <th>name</th>
          <th>VM state</th>
          <th>date (UTC)</th>
          <th>VM clock</th>
          <th>icount</th>
        </tr>
      </thead>
      <tbody>
        {snapshots.map((s) => (
          <tr key={s.idHex + s.nameHex} data-testid="snapshot-row">
            <td className="mono">{s.id}</td>
            <td className="mono wrap">{s.name}</td>
            <td>{typeof s.vmStateSize === 'number' ? humanSize(s.vmStateSize) : `${s.vmStateSize} B`}</td>
            <td>{when(s)}</td>
            <td className="mono">{clock(s.vmClockNsec)}</td>
            <td>{s.icount ?? '—'}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
