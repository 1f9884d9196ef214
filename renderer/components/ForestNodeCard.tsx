// One node of the forest: a fixed-size card (React Flow is told its size, so nothing off screen
// is ever measured). Images and bases show owner, label, sizes; a data file sits under its image;
// "+k more" stands for the rest of a large fan; a missing backing file heads its broken chain.
import { Handle, Position, type Node, type NodeProps } from '@xyflow/react';
import { memo } from 'react';
import { humanSize, ownerString } from '../../shared/text.js';
import { roleLabel, type ForestNode } from '../forest/model.js';
import { fileName } from './ChainNodeCard.js';

/** How the selection and the filter mark a node. */
export type Mark = 'selected' | 'user' | 'chain' | 'match' | 'dim' | 'none';

export type ForestFlowNode = Node<{ n: ForestNode; mark: Mark; hiddenMarked: number }, 'forest'>;

function Ports({ data }: { data: boolean }) {
  return (
    <>
      <Handle type="target" position={Position.Left} id="in" isConnectable={false} />
      <Handle type="source" position={Position.Right} id="out" isConnectable={false} />
      {data && <Handle type="source" position={Position.Bottom} id="data-out" isConnectable={false} />}
    </>
  );
}

function ForestCard({ data }: NodeProps<ForestFlowNode>) {
  const { n, mark, hiddenMarked } = data;
  const common = {
    'data-testid': 'forest-node',
    'data-path': n.id,
    'data-kind': n.kind,
    'data-mark': mark,
    'data-top': n.top ? 'true' : 'false',
    // Automation reads the problems here: their codes, once each, separated by spaces.
    'data-problems': [...new Set(n.file?.problems.map((p) => p.code) ?? [])].join(' '),
  };
  if (n.kind === 'more') {
    return (
      <div
        {...common}
        className={`fcard more mark-${mark}${hiddenMarked ? ' has-marked' : ''}`}
        data-hidden={n.hidden.length}
        title="Show every user"
      >
        <Handle type="target" position={Position.Left} id="in" isConnectable={false} />+{n.hidden.length} more
        {hiddenMarked ? <span className="more-marked"> ({hiddenMarked} highlighted)</span> : null}
      </div>
    );
  }
  if (n.kind === 'missing') {
    return (
      <div {...common} className={`fcard missing mark-${mark}`} title={`missing backing file ${n.missingName}`}>
        <Handle type="source" position={Position.Right} id="out" isConnectable={false} />
        <div className="fcard-title">
          <span className="fchip missing">missing</span> <span className="fname">{fileName(n.missingName ?? '')}</span>
        </div>
        <div className="fline muted">named as {n.missingName}</div>
      </div>
    );
  }
  const f = n.file!;
  const problems = f.problems.length;
  if (n.kind === 'data') {
    return (
      <div {...common} className={`fcard data mark-${mark}${n.broken ? ' broken' : ''}`} title={f.path}>
        <Handle type="target" position={Position.Top} id="data-in" isConnectable={false} />
        <div className="fcard-title">
          <span className="fchip data">data</span> <span className="fname">{fileName(f.path)}</span>
        </div>
        <div className="fline mono" data-testid="forest-owner">
          {f.owner ? ownerString(f.owner) : '—'}
        </div>
      </div>
    );
  }
  const tops = n.topUsers;
  const third = n.top
    ? `chain ${humanSize(n.chainAllocated)}`
    : tops
      ? `used by ${tops} top${tops === 1 ? '' : 's'} · ${humanSize(f.allocated ?? 0)}`
      : humanSize(f.allocated ?? 0);
  const loop = f.problems.find((p) => p.code === 'loop');
  return (
    <div {...common} className={`fcard ${n.kind} mark-${mark}${n.broken ? ' broken' : ''}${n.top ? ' top' : ''}`} title={f.path}>
      <Ports data={!!n.data} />
      <div className="fcard-title">
        <span className={`fchip ${n.kind}`} data-testid="forest-role">
          {roleLabel(n)}
        </span>{' '}
        <span className="fname" data-testid="forest-name">
          {fileName(f.path)}
        </span>
        {f.dataFile && (
          <span className="fmark" data-testid="forest-datamark" title={`its data lives in ${f.dataFile}`}>
            +data
          </span>
        )}
        {f.snapshots ? (
          <span className="fmark" data-testid="forest-snapshots" title={`${f.snapshots} internal snapshot${f.snapshots === 1 ? '' : 's'}`}>
            {f.snapshots} snap
          </span>
        ) : null}
        {loop && (
          <span className="fbadge loop" data-testid="forest-loop" title={loop.message}>
            loop
          </span>
        )}
        {problems > 0 && (
          <span className="fproblems" title={f.problems.map((p) => `${p.code}: ${p.message}`).join('\n')}>
            ! {problems}
          </span>
        )}
      </div>
      <div className="fline mono" data-testid="forest-owner">
        {f.owner ? ownerString(f.owner) : '—'}
      </div>
      <div className="fline mono muted" data-testid="forest-selinux">
        {f.selinux ?? 'no label'}
      </div>
      <div className="fline" data-testid="forest-size">
        {f.format ?? 'unread'} · {third}
      </div>
    </div>
  );
}

export const ForestNodeCard = memo(ForestCard);
