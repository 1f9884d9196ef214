// The canvas: React Flow showing the graph model's nodes at elkjs's positions. Cards are laid
// out first with estimated sizes, then once more with the sizes the browser measured.
import {
  Background,
  ControlButton,
  Controls,
  MarkerType,
  MiniMap,
  ReactFlow,
  useNodesInitialized,
  useNodesState,
  useReactFlow,
  type Edge,
  type NodeChange,
  type NodeTypes,
} from '@xyflow/react';
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { frameViewport, zoomAround } from '../graph/frame.js';
import { NODE_WIDTH, attachedDataFiles, estimateHeight } from '../graph/model.js';
import { refit, relayout, select, useDisks } from '../state/disks.js';
import { usePanel } from '../state/panel.js';
import { useTheme } from '../state/theme.js';
import { ChainNodeCard, type ChainFlowNode } from './ChainNodeCard.js';
import { Legend } from './Legend.js';

const nodeTypes: NodeTypes = { chain: ChainNodeCard };

/** Many nodes: draw only what is on screen. */
const VISIBLE_ONLY_ABOVE = 300;
const MIN_ZOOM = 0.05;
const MAX_ZOOM = 2;
const ZOOM_STEP = 1.2;

export function GraphView() {
  const graph = useDisks((s) => s.graph);
  const boxes = useDisks((s) => s.boxes);
  const graphVersion = useDisks((s) => s.graphVersion);
  const layoutVersion = useDisks((s) => s.layoutVersion);
  const selected = useDisks((s) => s.selected);
  const theme = useTheme((s) => s.theme);
  const panelOpen = usePanel((s) => s.panel !== null);
  const [nodes, setNodes, onNodesChange] = useNodesState<ChainFlowNode>([]);
  const initialized = useNodesInitialized();
  const flow = useReactFlow();
  const measuredFor = useRef(-1);
  const fitted = useRef<{ ids: string; measured: boolean }>({ ids: '', measured: false });

  // Graph, positions or selection changed: rebuild React Flow's nodes, keeping measured sizes.
  useEffect(() => {
    setNodes((prev) => {
      const old = new Map(prev.map((n) => [n.id, n]));
      return graph.nodes
        .filter((g) => boxes.has(g.id))
        .map((g) => {
          const b = boxes.get(g.id)!;
          const before = old.get(g.id);
          const node: ChainFlowNode = {
            id: g.id,
            type: 'chain',
            position: { x: b.x, y: b.y },
            data: { g },
            selected: g.id === selected,
            draggable: false,
            connectable: false,
            width: NODE_WIDTH,
            ariaLabel: `${g.role} ${g.id}`,
            domAttributes: { tabIndex: g.id === (selected ?? graph.nodes[0]?.id) ? 0 : -1 },
          };
          if (before?.measured && before.data.g === g) node.measured = before.measured;
          return node;
        });
    });
  }, [graph, boxes, selected, setNodes]);

  // Once the browser has drawn every card: lay out again with their real heights.
  useEffect(() => {
    // Only once this graph's own first layout is in: measured cards against their own boxes.
    if (!initialized || layoutVersion !== graphVersion || measuredFor.current === graphVersion || nodes.length !== graph.nodes.length)
      return;
    if (!nodes.every((n) => graph.byId.get(n.id) === n.data.g)) return;
    measuredFor.current = graphVersion;
    const sizes = new Map<string, { width: number; height: number }>();
    let differs = false;
    for (const n of nodes) {
      const w = n.measured?.width ?? NODE_WIDTH;
      const h = n.measured?.height ?? estimateHeight(n.data.g);
      sizes.set(n.id, { width: w, height: h });
      const b = boxes.get(n.id);
      if (!b || Math.abs(b.height - h) > 2 || Math.abs(b.width - w) > 2) differs = true;
    }
    if (differs) void relayout(sizes);
  }, [initialized, nodes, graph, boxes, graphVersion, layoutVersion]);

  const frameSeq = useDisks((s) => s.frameSeq);
  const [legend, setLegend] = useState(false);

  /** Frame the selection's disk (every disk when nothing is selected) at a readable zoom. */
  const frame = useCallback(() => {
    const { graph: g, boxes: b, selected: sel, framed: disk } = useDisks.getState();
    const pane = document.querySelector<HTMLElement>('.canvas .react-flow');
    const target = sel && disk ? g.nodes.filter((n) => n.disks.includes(disk)) : g.nodes;
    const view =
      pane &&
      frameViewport(
        target.flatMap((n) => b.get(n.id) ?? []),
        { width: pane.clientWidth, height: pane.clientHeight },
      );
    if (view) void flow.setViewport(view, { duration: 0 });
  }, [flow]);

  // Frame when the set of files changed, again once real sizes are in, and on request
  // (a disk chosen in the sidebar, a card of another disk, Fit View).
  const lastSeq = useRef(-1);
  useEffect(() => {
    if (!nodes.length) return;
    const ids = graph.nodes.map((n) => n.id).join('\n');
    const measured = measuredFor.current === graphVersion;
    const asked = lastSeq.current !== frameSeq;
    if (!asked && fitted.current.ids === ids && (fitted.current.measured || !measured)) return;
    fitted.current = { ids, measured };
    lastSeq.current = frameSeq;
    const raf = requestAnimationFrame(frame);
    return () => cancelAnimationFrame(raf);
  }, [boxes, nodes.length, graph, graphVersion, frameSeq, frame]);

  // The canvas got narrower or wider (a panel opened or closed): frame again.
  const firstPanel = useRef(true);
  useEffect(() => {
    if (firstPanel.current) {
      firstPanel.current = false;
      return;
    }
    const raf = requestAnimationFrame(frame);
    return () => cancelAnimationFrame(raf);
  }, [panelOpen, frame]);

  /** Zoom keeping the selected card's centre in place (the pane's centre without a selection). */
  const zoomBy = (factor: number) => {
    const { selected: sel, boxes: b } = useDisks.getState();
    const box = sel ? b.get(sel) : undefined;
    if (!box) return void (factor > 1 ? flow.zoomIn({ duration: 120 }) : flow.zoomOut({ duration: 120 }));
    const view = zoomAround(flow.getViewport(), { x: box.x + box.width / 2, y: box.y + box.height / 2 }, factor, MIN_ZOOM, MAX_ZOOM);
    void flow.setViewport(view, { duration: 120 });
  };

  const blocked = useDisks((s) => s.verdict?.blocked);
  const edges = useMemo<Edge[]>(() => {
    const attached = attachedDataFiles(graph);
    return graph.edges.map((e) => {
      const under = e.kind === 'data-file' && attached.get(e.target) === e.source;
      const stop = blocked?.has(e.target) ? ' edge-blocked' : '';
      return {
        id: e.id,
        source: e.source,
        target: e.target,
        sourceHandle: under ? 'data-out' : 'out',
        targetHandle: under ? 'data-in' : 'in',
        type: e.kind === 'backing' ? 'default' : under ? 'straight' : 'smoothstep',
        className: `${e.kind === 'backing' ? 'edge-backing' : 'edge-data'}${stop}`,
        label: e.kind === 'backing' ? 'backing' : 'data file',
        markerEnd: { type: MarkerType.ArrowClosed, width: 18, height: 18 },
        selectable: false,
        focusable: false,
        ariaLabel: `${e.kind === 'backing' ? 'backing file' : 'data file'} of ${e.source}: ${e.target}`,
      };
    });
  }, [graph, blocked]);

  // The store's `selected` is the one truth: React Flow's own selection changes are dropped
  // (clicks and keys select through the store, which marks the node).
  const onChange = useCallback(
    (changes: NodeChange<ChainFlowNode>[]) => onNodesChange(changes.filter((c) => c.type !== 'select')),
    [onNodesChange],
  );

  return (
    <ReactFlow
      nodes={nodes}
      edges={edges}
      nodeTypes={nodeTypes}
      onNodesChange={onChange}
      onNodeClick={(_, n) => select(n.id)}
      onPaneClick={() => select(null)}
      nodesDraggable={false}
      nodesConnectable={false}
      edgesFocusable={false}
      elementsSelectable
      deleteKeyCode={null}
      selectionKeyCode={null}
      multiSelectionKeyCode={null}
      minZoom={MIN_ZOOM}
      maxZoom={MAX_ZOOM}
      onlyRenderVisibleElements={graph.nodes.length > VISIBLE_ONLY_ABOVE}
      colorMode={theme}
      aria-label="disk chains"
    >
      <Background gap={24} />
      <Controls showZoom={false} showFitView={false} showInteractive={false}>
        <ControlButton className="react-flow__controls-zoomin" title="Zoom in" aria-label="zoom in" onClick={() => zoomBy(ZOOM_STEP)}>
          +
        </ControlButton>
        <ControlButton
          className="react-flow__controls-zoomout"
          title="Zoom out"
          aria-label="zoom out"
          onClick={() => zoomBy(1 / ZOOM_STEP)}
        >
          −
        </ControlButton>
        <ControlButton
          className="react-flow__controls-fitview"
          title="Fit the selected disk (every disk when none is selected)"
          aria-label="fit view"
          data-testid="fit-view"
          onClick={refit}
        >
          ⤢
        </ControlButton>
        <ControlButton
          title="Legend"
          aria-label="legend"
          aria-pressed={legend}
          data-testid="legend-toggle"
          onClick={() => setLegend((v) => !v)}
        >
          ?
        </ControlButton>
      </Controls>
      {legend && <Legend />}
      {graph.nodes.length > 12 && <MiniMap pannable zoomable />}
    </ReactFlow>
  );
}
