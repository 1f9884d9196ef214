// What the graph's colours, badges and lines mean: shown on demand over the canvas.
import { Panel } from '@xyflow/react';
import { ROLE_LABEL } from './ChainNodeCard.js';

const ROLES = ['image', 'backing', 'data-file'] as const;

function Line({ kind }: { kind: 'backing' | 'data' }) {
  return (
    <svg className={`legend-line edge-${kind}`} width="36" height="10" aria-hidden="true">
      <line x1="2" y1="5" x2="34" y2="5" />
    </svg>
  );
}

export function Legend() {
  return (
    <Panel position="top-right" className="legend" data-testid="legend" aria-label="legend">
      <h4>Files</h4>
      <ul>
        {ROLES.map((r) => (
          <li key={r}>
            <span className={`role-chip role-${r}`}>{ROLE_LABEL[r]}</span>
            {r === 'image' ? 'the disk a VM opens' : r === 'backing' ? 'read through by the file before it' : 'raw data of a qcow2 image'}
          </li>
        ))}
      </ul>
      <h4>Lines</h4>
      <ul>
        <li>
          <Line kind="backing" /> backing file
        </li>
        <li>
          <Line kind="data" /> external data file
        </li>
      </ul>
      <h4>Badges</h4>
      <ul>
        <li>
          <span className="badge remembered">dac remembered ×1</span> label libvirt will restore
        </li>
        <li>
          <span className="badge remembered stale">· stale</span> remembered from another boot
        </li>
        <li>
          <span className="badge problem legend-problem">problem</span> something wrong with the file
        </li>
        <li>
          <span className="legend-blocked" /> the VM cannot open it
        </li>
        <li>
          <span className="shared-chip">×2</span> shared by several open disks
        </li>
      </ul>
    </Panel>
  );
}
