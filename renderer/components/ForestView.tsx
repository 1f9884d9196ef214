// The forest canvas: every scanned chain at once. React Flow draws only the cards on screen
// (onlyRenderVisibleElements); every card has a fixed, declared size and declared handles, so
// cards and edges off screen cost nothing to lay out or measure. Positions come from
// forest/layout.ts, computed once per scan and patched per watcher delta.
import { Controls, Position, ReactFlow, useReactFlow, useStore as useFlowStore, type Edge, type NodeTypes } from '@xyflow/react';
import { useEffect, useMemo, useRef } from 'react';
import { CARD_H, CARD_W, DATA_H, MORE_H } from '../forest/layout.js';
import { roleLabel, type ForestNode } from '../forest/model.js';
import { selectForest, toggleExpand, useForest } from '../state/forest.js';
import { openChain } from '../state/open.js';
import { useTheme } from '../state/theme.js';
import { ForestBar } from './ForestBar.js';
import { ForestNodeCard, type ForestFlowNode, type Mark } from './ForestNodeCard.js';

const nodeTypes: NodeTypes = { forest: ForestNodeCard };
/** Up to this many cards the whole forest is framed; beyond, it opens at a readable zoom. */
const FIT_ALL_UP_TO = 300;

function heightOf(n: ForestNode): number {
  return n.kind === 'data' ? DATA_H : n.kind === 'more' ? MORE_H : CARD_H;
}

function handlesOf(n: ForestNode): NonNullable<ForestFlowNode['handles']> {
  const h = heightOf(n);
  const mid = h / 2;
  const out: NonNullable<ForestFlowNode['handles']> = [];
  if (n.kind === 'data') return [{ id: 'data-in', type: 'target', position: Position.Top, x: CARD_W / 2, y: 0, width: 1, height: 1 }];
  if (n.kind !== 'missing') out.push({ id: 'in', type: 'target', position: Position.Left, x: 0, y: mid, width: 1, height: 1 });
  if (n.kind !== 'more') out.push({ id: 'out', type: 'source', position: Position.Right, x: CARD_W, y: mid, width: 1, height: 1 });
  if (n.data) out.push({ id: 'data-out', type: 'source', position: Position.Bottom, x: CARD_W / 2, y: h, width: 1, height: 1 });
  return out;
}

/** Low zoom: cards show their name only (cheaper to draw, and the rest would be unreadable). */
const lowZoom = (s: { transform: [number, number, number] }) => s.transform[2] < 0.45;

export function ForestView() {
  const id = useForest((s) => s.id);
  const layout = useForest((s) => s.layout);
  const selected = useForest((s) => s.selected);
  const users = useForest((s) => s.users);
  const chain = useForest((s) => s.chain);
  const matches = useForest((s) => s.matches);
  const filtering = useForest((s) => s.matches.size > 0 || s.shown.length !== s.forest.trees.length);
  const theme = useTheme((s) => s.theme);
  const flow = useReactFlow();
  const low = useFlowStore(lowZoom);
  const framed = useRef<string | null>(null);
  const box = useRef<HTMLDivElement>(null);

  const nodes = useMemo<ForestFlowNode[]>(() => {
    const out: ForestFlowNode[] = [];
    const markOf = (nid: string): Mark =>
      nid === selected
        ? 'selected'
        : users.has(nid)
          ? 'user'
          : chain.has(nid)
            ? 'chain'
            : matches.has(nid)
              ? 'match'
              : filtering
                ? 'dim'
                : 'none';
    for (const p of layout.packed) {
      for (const n of p.tree.nodes) {
        const b = p.layout.boxes.get(n.id);
        if (!b) continue;
        const hiddenMarked = n.kind === 'more' ? n.hidden.filter((h) => users.has(h) || matches.has(h)).length : 0;
        out.push({
          id: n.id,
          type: 'forest',
          position: { x: p.x + b.x, y: p.y + b.y },
          width: b.width,
          height: b.height,
          handles: handlesOf(n),
          data: { n, mark: n.kind === 'more' ? (hiddenMarked ? 'user' : 'none') : markOf(n.id), hiddenMarked },
          draggable: false,
          connectable: false,
          selectable: false,
          ariaLabel: n.kind === 'more' ? `${n.hidden.length} more users` : `${roleLabel(n)} ${n.id}`,
        });
      }
    }
    return out;
  }, [layout, selected, users, chain, matches, filtering]);

  const edges = useMemo<Edge[]>(() => {
    const out: Edge[] = [];
    for (const p of layout.packed) {
      for (const n of p.tree.nodes) {
        if (!n.parent) continue;
        const data = n.kind === 'data';
        out.push({
          id: `${n.parent}->${n.id}`,
          source: n.parent,
          target: n.id,
          sourceHandle: data ? 'data-out' : 'out',
          targetHandle: data ? 'data-in' : 'in',
          type: data ? 'straight' : 'default',
          className: data ? 'edge-data' : n.kind === 'more' ? 'edge-more' : 'edge-backing',
          selectable: false,
          focusable: false,
        });
      }
    }
    return out;
  }, [layout]);

  // A new forest: frame it when small, else open at its top-left at a readable zoom. From the
  // layout's own size: nothing to wait for (React Flow knows every size up front).
  const ready = flow.viewportInitialized;
  useEffect(() => {
    if (!id || !ready || framed.current === id || !nodes.length) return;
    const raf = requestAnimationFrame(() => {
      framed.current = id;
      const el = box.current;
      const w = el?.clientWidth ?? 1000;
      const h = el?.clientHeight ?? 700;
      if (nodes.length <= FIT_ALL_UP_TO) {
        const zoom = Math.min(1, (w - 48) / Math.max(layout.width, 1), (h - 48) / Math.max(layout.height, 1));
        void flow.setViewport({ x: Math.max(24, (w - layout.width * zoom) / 2), y: 24, zoom }, { duration: 0 });
      } else {
        void flow.setViewport({ x: 24, y: 24, zoom: 0.8 }, { duration: 0 });
      }
    });
    return () => cancelAnimationFrame(raf);
  }, [id, ready, nodes.length, flow, layout]);

  return (
    <div className={`forest${low ? ' low-zoom' : ''}`} data-testid="forest">
      <ForestBar />
      <div className="forest-canvas" ref={box}>
        <ReactFlow
          nodes={nodes}
          edges={edges}
          nodeTypes={nodeTypes}
          onNodeClick={(_, n) => (n.data.n.kind === 'more' ? toggleExpand(n.data.n.parent!) : selectForest(n.data.n.file ? n.id : null))}
          onNodeDoubleClick={(_, n) => {
            if (n.data.n.file?.isImage) void openChain(n.id);
          }}
          onPaneClick={() => selectForest(null)}
          nodesDraggable={false}
          nodesConnectable={false}
          nodesFocusable={false}
          edgesFocusable={false}
          elementsSelectable={false}
          deleteKeyCode={null}
          selectionKeyCode={null}
          multiSelectionKeyCode={null}
          zoomOnDoubleClick={false}
          minZoom={0.15}
          maxZoom={2}
          onlyRenderVisibleElements
          colorMode={theme}
          aria-label="forest of scanned chains"
        >
          <Controls showInteractive={false} />
        </ReactFlow>
      </div>
    </div>
  );
}
