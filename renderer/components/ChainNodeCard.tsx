// One file of a chain as a graph node: name, format, sizes, owner, mode, SELinux context,
// libvirt's remembered labels and one badge per problem.
import { Handle, Position, type Node, type NodeProps } from '@xyflow/react';
import { Fragment, memo } from 'react';
import type { RememberedRecord } from '../../shared/model.js';
import { humanSize, modeString, ownerString } from '../../shared/text.js';
import type { GraphNode } from '../graph/model.js';
import { useDisks } from '../state/disks.js';
import { middleEllipsis } from '../text/ellipsis.js';

export type ChainFlowNode = Node<{ g: GraphNode }, 'chain'>;

export const ROLE_LABEL: Record<GraphNode['role'], string> = {
  image: 'image',
  backing: 'backing',
  'data-file': 'data file',
};

/** What fits on a card's title line beside its role chip, in characters. */
const CARD_NAME_CHARS = 27;

export function fileName(p: string): string {
  const i = p.lastIndexOf('/');
  return i >= 0 && i < p.length - 1 ? p.slice(i + 1) : p;
}

export function formatText(g: GraphNode): string {
  const n = g.node;
  if (!n.format) return 'not read';
  const how =
    n.formatSource === 'probed'
      ? ' (probed)'
      : n.formatSource === 'assumed-raw'
        ? ' (assumed raw)'
        : n.formatSource === 'given'
          ? ' (given)'
          : '';
  return `${n.format}${how}`;
}

/** A label or path that may break only after its separators (`:`, `,`, `/`). */
export function Breakable({ text }: { text: string }) {
  const parts = text.split(/(?<=[:,/])/);
  return (
    <>
      {parts.map((p, i) => (
        <Fragment key={i}>
          {p}
          {i < parts.length - 1 && <wbr />}
        </Fragment>
      ))}
    </>
  );
}

function RememberedBadge({ driver, r }: { driver: 'dac' | 'selinux'; r: RememberedRecord }) {
  const state = r.current ? 'this boot' : 'stale';
  return (
    <span
      className={`badge remembered${r.current ? '' : ' stale'}`}
      data-testid="remembered-badge"
      data-driver={driver}
      data-stale={r.current ? 'false' : 'true'}
      title={`libvirt remembers the original ${driver} label ${r.label ?? '(none)'}; refcount ${r.refcount ?? '?'}; timestamp ${r.timestamp ?? 'none'} (${r.current ? 'written since this boot' : 'from another boot: libvirt will discard it'})`}
    >
      {driver} remembered ×{r.refcount ?? '?'}
      {r.current ? '' : ' · stale'}
      <span className="sr-only"> ({state})</span>
    </span>
  );
}

function ChainNodeCardImpl({ data, selected }: NodeProps<ChainFlowNode>) {
  const g = data.g;
  const n = g.node;
  const virtual = n.header ? humanSize(n.header.virtualSize) : '—';
  const allocated = n.stat ? humanSize(n.stat.allocated) : '—';
  // The access verdict's reason the VM cannot open this file, if any.
  const blocked = useDisks((s) => s.verdict?.blocked.get(g.id));
  return (
    <div
      className={`card role-${g.role}${selected ? ' selected' : ''}${g.problems.length ? ' has-problems' : ''}${blocked ? ' blocked' : ''}`}
      data-testid="chain-node"
      data-path={g.id}
      data-role={g.role}
      data-blocked={blocked ? 'true' : undefined}
      title={blocked}
    >
      <Handle type="target" id="in" position={Position.Left} isConnectable={false} />
      <Handle type="target" id="data-in" position={Position.Top} isConnectable={false} />
      <div className="card-title">
        <span className={`role-chip role-${g.role}`}>{ROLE_LABEL[g.role]}</span>
        <span className="card-name" title={g.id} data-testid="node-name">
          {middleEllipsis(fileName(g.id), CARD_NAME_CHARS)}
        </span>
        {g.disks.length > 1 && (
          <span className="shared-chip" title={`used by ${g.disks.length} open disks:\n${g.disks.join('\n')}`}>
            ×{g.disks.length}
          </span>
        )}
      </div>
      <dl className="card-fields">
        <dt>format</dt>
        <dd data-testid="node-format">{formatText(g)}</dd>
        <dt>size</dt>
        <dd data-testid="node-size">
          {virtual} <span className="muted">virtual</span> · {allocated} <span className="muted">allocated</span>
        </dd>
        <dt>owner</dt>
        <dd data-testid="node-owner">{n.owner ? ownerString(n.owner) : '—'}</dd>
        <dt>mode</dt>
        <dd data-testid="node-mode" className="mono">
          {n.owner ? modeString(n.owner.mode) : '—'}
        </dd>
        <dt>selinux</dt>
        <dd data-testid="node-selinux" className="mono breakable">
          {n.stat ? <Breakable text={n.selinux ?? 'none'} /> : '—'}
        </dd>
      </dl>
      {n.header?.snapshots?.length ? (
        <div className="badges">
          <span
            className="badge snapshots"
            data-testid="snapshot-badge"
            title={n.header.snapshots.map((s) => `${s.id} ${s.name}`).join('\n')}
          >
            {n.header.snapshots.length} snapshot{n.header.snapshots.length === 1 ? '' : 's'}
          </span>
        </div>
      ) : null}
      {(n.remembered.dac || n.remembered.selinux) && (
        <div className="badges">
          {n.remembered.dac && <RememberedBadge driver="dac" r={n.remembered.dac} />}
          {n.remembered.selinux && <RememberedBadge driver="selinux" r={n.remembered.selinux} />}
        </div>
      )}
      {g.problems.length > 0 && (
        <ul className="problems">
          {g.problems.map((p) => (
            <li key={`${p.code}:${p.message}`} className={`badge problem problem-${p.code}`} data-testid="problem-badge" data-code={p.code}>
              <b>{p.code}</b> {p.message}
            </li>
          ))}
        </ul>
      )}
      <Handle type="source" id="out" position={Position.Right} isConnectable={false} />
      <Handle type="source" id="data-out" position={Position.Bottom} isConnectable={false} />
    </div>
  );
}

export const ChainNodeCard = memo(ChainNodeCardImpl);
