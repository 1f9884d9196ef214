// The forest canvas: every scanned chain at once. React Flow is handed only the cards near the
// screen (forest/grid.ts finds them from the trees' bounding boxes), never the whole forest: its
// per-node store work then follows the screen, so panning and closing cost the same at 100,000
// files as at 100. Every card has a fixed, declared size and declared handles, so nothing is
// measured. Positions come from forest/layout.ts, computed once per scan and patched per delta.
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
import { memo, useCallback, useEffect, useMemo, useRef } from 'react';
import { nodesIn, treeGrid } from '../forest/grid.js';
import { CARD_H, CARD_W, DATA_H, MORE_H, type Rect } from '../forest/layout.js';
import { roleLabel, type ForestNode } from '../forest/model.js';
import { selectForest, toggleExpand, useForest, type ForestState } from '../state/forest.js';
import { openChain } from '../state/open.js';
import { useHosts } from '../state/hosts.js';
import { useTheme, type Theme } from '../state/theme.js';
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

const edgeClass = (n: ForestNode) => (n.kind === 'data' ? 'edge-data' : n.kind === 'more' ? 'edge-more' : 'edge-backing');

/** Low zoom: cards show their name only (cheaper to draw, and the rest would be unreadable). */
const lowZoom = (s: { transform: [number, number, number] }) => s.transform[2] < 0.45;

/**
 * The world rectangle whose cards the canvas holds: the screen and an eighth of a screen around
 * it, snapped outward to a step of an eighth, as a string. A pan changes it only when it crosses
 * a step, so between steps React Flow is not handed new nodes at all. The margin is kept small:
 * every held card is in the DOM, and drawing them is most of a pan frame's work.
 */
function heldRect(s: { transform: [number, number, number]; width: number; height: number }): string {
  const [tx, ty, zoom] = s.transform;
  const w = (s.width || 1000) / zoom;
  const h = (s.height || 700) / zoom;
  const step = Math.max(w, h) / 8;
  const snap = (v: number, up: boolean) => (up ? Math.ceil(v / step) : Math.floor(v / step)) * step;
  const x0 = snap(-tx / zoom - step, false);
  const y0 = snap(-ty / zoom - step, false);
  return `${x0},${y0},${snap(-tx / zoom + w + step, true) - x0},${snap(-ty / zoom + h + step, true) - y0}`;
}

function parseRect(k: string): Rect {
  const [x, y, width, height] = k.split(',').map(Number) as [number, number, number, number];
  return { x, y, width, height };
}

const isFiltering = (s: ForestState) => s.matches.size > 0 || s.shown.length !== s.forest.trees.length;

const onNodeClick = (_: unknown, n: ForestFlowNode) =>
  n.data.n.kind === 'more' ? toggleExpand(n.data.n.parent!) : selectForest(n.data.n.file ? n.id : null);
const onNodeDoubleClick = (_: unknown, n: ForestFlowNode) => {
  if (n.data.n.file?.isImage) void openChain(n.id);
};
const onPaneClick = () => selectForest(null);

/**
 * React Flow and its controls, drawn again only when the cards held change: a streaming forest
 * updates the state every few frames, mostly off screen, and each render of React Flow with new
 * props set its store again (every card's selectors ran).
 */
const ForestCanvas = memo(function ForestCanvas(props: { nodes: ForestFlowNode[]; edges: Edge[]; theme: Theme; fit: () => void }) {
  return (
    <ReactFlow
      nodes={props.nodes}
      edges={props.edges}
      nodeTypes={nodeTypes}
      onNodeClick={onNodeClick}
      onNodeDoubleClick={onNodeDoubleClick}
      onPaneClick={onPaneClick}
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
      colorMode={props.theme}
      aria-label="forest of scanned chains"
    >
      <Controls showInteractive={false} showFitView={false}>
        <ControlButton onClick={props.fit} title="fit view" aria-label="fit view" data-testid="forest-fit-view">
          ⤢
        </ControlButton>
      </Controls>
    </ReactFlow>
  );
});

export function ForestView() {
  const id = useForest((s) => s.id);
  const layout = useForest((s) => s.layout);
  const selected = useForest((s) => s.selected);
  const users = useForest((s) => s.users);
  const chain = useForest((s) => s.chain);
  const matches = useForest((s) => s.matches);
  const filtering = useForest(isFiltering);
  const theme = useTheme((s) => s.theme);
  const flow = useReactFlow();
  const low = useFlowStore(lowZoom);
  const held = useFlowStore(heldRect);
  const boxes = useForest((s) => s.boxes);
  /** Files still streaming in: the first batch is no measure of the forest's size. */
  const scanningHere = useForest((s) => s.scanning !== null);
  const scanningHosts = useHosts((s) => Object.keys(s.scanning).length > 0);
  const streaming = scanningHere || scanningHosts;
  const closing = useForest((s) => s.closing);
  const framed = useRef<string | null>(null);
  const filter = useForest((s) => s.filter);
  /** The filter the view was last framed for: a watcher delta or an expanded fan keeps the view. */
  const fittedFor = useRef(filter);
  const box = useRef<HTMLDivElement>(null);

  const grid = useMemo(() => treeGrid(layout), [layout]);
  /**
   * Node objects kept across pans and across updates that leave a card as it was (same node, same
   * place): React Flow then neither re-adopts nor re-renders it while a scan streams in.
   */
  const made = useMemo(
    () => ({ cards: new Map<string, ForestFlowNode>(), last: [] as ForestFlowNode[] }),
    [selected, users, chain, matches, filtering],
  );
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
    const placed = nodesIn(grid, parseRect(held));
    // Forget nodes long gone (a streaming forest would otherwise keep every card it ever held).
    if (made.cards.size > 4 * placed.length + 1000) made.cards.clear();
    for (const { n, box: b } of placed) {
      let node = made.cards.get(n.id);
      const tabIndex = n.id === roving ? 0 : -1;
      if (!node || node.data.n !== n || node.position.x !== b.x || node.position.y !== b.y || node.domAttributes?.tabIndex !== tabIndex) {
        const hiddenMarked = n.kind === 'more' ? n.hidden.filter((h) => users.has(h) || matches.has(h)).length : 0;
        node = {
          id: n.id,
          type: 'forest',
          position: { x: b.x, y: b.y },
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
          domAttributes: { tabIndex },
        };
        made.cards.set(n.id, node);
      }
      out.push(node);
    }
    // The same cards as last time (an update elsewhere in the forest, a host's batch off screen):
    // the same array, so React Flow is not handed new nodes and does no work at all.
    const was = made.last;
    if (was.length === out.length && out.every((x, i) => x === was[i])) return was;
    made.last = out;
    return out;
  }, [grid, held, made, layout, selected, users, chain, matches, filtering]);

  /** Edge objects kept while their ends stay the same (only which of them are held changes on a pan). */
  const madeEdges = useMemo(() => new Map<string, Edge>(), []);
  const edges = useMemo<Edge[]>(() => {
    const out: Edge[] = [];
    const ids = new Set(nodes.map((x) => x.id));
    for (const { data } of nodes) {
      const n = data.n;
      if (!n.parent || !ids.has(n.parent)) continue;
      let edge = madeEdges.get(n.id);
      if (!edge || edge.source !== n.parent || edge.className !== edgeClass(n)) {
        const toData = n.kind === 'data';
        edge = {
          id: `${n.parent}->${n.id}`,
          source: n.parent,
          target: n.id,
          sourceHandle: toData ? 'data-out' : 'out',
          targetHandle: toData ? 'data-in' : 'in',
          type: toData ? 'straight' : 'default',
          className: edgeClass(n),
          selectable: false,
          focusable: false,
        };
        madeEdges.set(n.id, edge);
      }
      out.push(edge);
    }
    if (madeEdges.size > 4 * out.length + 1000) madeEdges.clear();
    return out;
  }, [nodes, madeEdges]);

  // Frame the matching cards (every card without a filter), never above life size, from the
  // layout's own absolute boxes: React Flow holds only the cards near the screen, so its
  // fitView cannot be used for them. Read when called: the callback stays the same while the
  // forest changes, so the canvas is not drawn again for it.
  const frame = useCallback(() => {
    const el = box.current;
    const w = el?.clientWidth ?? 1000;
    const h = el?.clientHeight ?? 700;
    const { boxes, matches } = useForest.getState();
    const filtering = isFiltering(useForest.getState());
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
  }, [flow]);

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
  // layout's own size: nothing to wait for (React Flow knows every size up front). While files
  // stream in it opens at the readable zoom (a small first batch framed whole would leave the
  // view zoomed far out, holding thousands of cards once the rest arrives); once they are all
  // in, a forest small enough is framed whole.
  const ready = flow.viewportInitialized;
  useEffect(() => {
    const key = streaming ? `${id}\0streaming` : id;
    if (!id || !ready || framed.current === id || framed.current === key) return;
    const cards = boxes.size;
    if (!cards) return;
    const wasStreaming = framed.current === `${id}\0streaming`;
    const raf = requestAnimationFrame(() => {
      framed.current = key;
      fittedFor.current = useForest.getState().filter;
      if (filtering && matches.size) return frame();
      const el = box.current;
      const w = el?.clientWidth ?? 1000;
      const h = el?.clientHeight ?? 700;
      if (cards <= FIT_ALL_UP_TO && !streaming) {
        const zoom = Math.min(1, (w - 48) / Math.max(layout.width, 1), (h - 48) / Math.max(layout.height, 1));
        void flow.setViewport({ x: Math.max(24, (w - layout.width * zoom) / 2), y: 24, zoom }, { duration: 0 });
      } else if (!wasStreaming) {
        void flow.setViewport({ x: 24, y: 24, zoom: 0.8 }, { duration: 0 });
      }
    });
    return () => cancelAnimationFrame(raf);
  }, [id, ready, boxes, flow, layout, filtering, matches.size, frame, streaming]);

  return (
    <div className={`forest${low ? ' low-zoom' : ''}`} data-testid="forest">
      <ForestBar />
      <div className="forest-canvas" ref={box}>
        {!closing && <ForestCanvas nodes={nodes} edges={edges} theme={theme} fit={frame} />}
      </div>
    </div>
  );
}
