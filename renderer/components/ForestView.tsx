// The forest canvas: every scanned chain at once. React Flow draws only the cards on screen
// (onlyRenderVisibleElements); every card has a fixed, declared size and declared handles, so
// cards and edges off screen cost nothing to lay out or measure. Positions come from
// forest/layout.ts, computed once per scan and patched per watcher delta.
import {
  ControlButton,
  Controls,
  Position,
  ReactFlow,
  useReactFlow,
  useStore as useFlowStore,
  type Edge,
  type NodeTypes,
} from '@xyflow/react';
import { useCallback, useEffect, useMemo, useRef } from 'react';
import { CARD_H, CARD_W, DATA_H, MORE_H, absoluteBoxes } from '../forest/layout.js';
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
  const filter = useForest((s) => s.filter);
  /** The filter the view was last framed for: a watcher delta or an expanded fan keeps the view. */
  const fittedFor = useRef(filter);
  const box = useRef<HTMLDivElement>(null);

  const nodes = useMemo<ForestFlowNode[]>(() => {
    const out: ForestFlowNode[] = [];
    const roving = selected ?? layout.packed[0]?.tree.nodes[0]?.id;
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
          // One tab stop for the whole forest (the selection, else the first card); arrows move it.
          ariaRole: 'group',
          domAttributes: { tabIndex: n.id === roving ? 0 : -1 },
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

  // Frame the matching cards (every card without a filter), never above life size, from the
  // layout's own absolute boxes: cards off screen are never rendered, so React Flow has not
  // measured them and its fitView cannot be used for them.
  const boxes = useMemo(() => absoluteBoxes(layout), [layout]);
  const frame = useCallback(() => {
    const el = box.current;
    const w = el?.clientWidth ?? 1000;
    const h = el?.clientHeight ?? 700;
    let x0 = Infinity;
    let y0 = Infinity;
    let x1 = -Infinity;
    let y1 = -Infinity;
    for (const [nid, b] of boxes) {
      if (filtering && !matches.has(nid)) continue;
      x0 = Math.min(x0, b.x);
      y0 = Math.min(y0, b.y);
      x1 = Math.max(x1, b.x + b.width);
      y1 = Math.max(y1, b.y + b.height);
    }
    if (x0 === Infinity) return;
    const zoom = Math.min(1, (w - 48) / Math.max(x1 - x0, 1), (h - 48) / Math.max(y1 - y0, 1));
    void flow.setViewport({ x: (w - (x1 - x0) * zoom) / 2 - x0 * zoom, y: (h - (y1 - y0) * zoom) / 2 - y0 * zoom, zoom }, { duration: 0 });
  }, [boxes, filtering, matches, flow]);

  // The filter was applied (matches follow typing after a pause): frame what it kept.
  useEffect(() => {
    if (!id || framed.current !== id || fittedFor.current === filter) return;
    fittedFor.current = filter;
    if (filtering && !matches.size) return; // nothing matches: leave the view where it was
    const raf = requestAnimationFrame(frame);
    return () => cancelAnimationFrame(raf);
    // Only a new result (matches) re-frames; the filter alone changes at once while typing.
  }, [matches]);

  // A new forest: frame it when small, else open at its top-left at a readable zoom. From the
  // layout's own size: nothing to wait for (React Flow knows every size up front).
  const ready = flow.viewportInitialized;
  useEffect(() => {
    if (!id || !ready || framed.current === id || !nodes.length) return;
    const raf = requestAnimationFrame(() => {
      framed.current = id;
      fittedFor.current = useForest.getState().filter;
      if (filtering && matches.size) return frame();
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
  }, [id, ready, nodes.length, flow, layout, filtering, matches.size, frame]);

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
          <Controls showInteractive={false} showFitView={false}>
            <ControlButton onClick={frame} title="fit view" aria-label="fit view" data-testid="forest-fit-view">
              ⤢
            </ControlButton>
          </Controls>
        </ReactFlow>
      </div>
    </div>
  );
}
