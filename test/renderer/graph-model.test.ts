// The renderer's graph model without a browser: merging disks, edges, elkjs positions, the
// keyboard's neighbours.
import ELK from 'elkjs/lib/elk.bundled.js';
import { describe, expect, it } from 'vitest';
import type { Disk } from '../../shared/ipc.js';
import type { ChainNode, Role } from '../../shared/model.js';
import { attachedDataFiles, buildGraph, diskFor, layoutGraph, neighbour } from '../../renderer/graph/model.js';

function node(path: string, role: Role, depth: number, extra: Partial<ChainNode> = {}): ChainNode {
  return {
    path,
    name: path,
    role,
    format: role === 'data-file' ? 'raw' : 'qcow2',
    formatSource: 'header',
    depth,
    nameInfo: null,
    stat: null,
    owner: null,
    selinux: null,
    remembered: { dac: null, selinux: null },
    header: null,
    backing: null,
    dataFile: null,
    problems: [],
    ...extra,
  };
}

/** top → mid → base, each with a data file; `base` may be shared between calls. */
function chain(prefix: string, base?: ChainNode): Disk {
  const b = base ?? node('/d/base.qcow2', 'backing', 2, { dataFile: node('/d/base.data', 'data-file', 2) });
  const mid = node(`/d/${prefix}mid.qcow2`, 'backing', 1, { backing: b, dataFile: node(`/d/${prefix}mid.data`, 'data-file', 1) });
  const top = node(`/d/${prefix}top.qcow2`, 'image', 0, { backing: mid, dataFile: node(`/d/${prefix}top.data`, 'data-file', 0) });
  return { top: top.path, openedAs: top.path, root: top };
}

const elk = new ELK();

describe('graph model', () => {
  it('turns a chain into nodes with roles and typed edges', () => {
    const g = buildGraph([chain('')]);
    expect(g.nodes.map((n) => [n.id, n.role]).sort()).toEqual(
      [
        ['/d/base.data', 'data-file'],
        ['/d/base.qcow2', 'backing'],
        ['/d/mid.data', 'data-file'],
        ['/d/mid.qcow2', 'backing'],
        ['/d/top.data', 'data-file'],
        ['/d/top.qcow2', 'image'],
      ].sort(),
    );
    const kinds = g.edges.map((e) => `${e.kind} ${e.source} ${e.target}`).sort();
    expect(kinds).toEqual(
      [
        'backing /d/mid.qcow2 /d/base.qcow2',
        'backing /d/top.qcow2 /d/mid.qcow2',
        'data-file /d/base.qcow2 /d/base.data',
        'data-file /d/mid.qcow2 /d/mid.data',
        'data-file /d/top.qcow2 /d/top.data',
      ].sort(),
    );
  });

  it('draws a base several overlays share once', () => {
    const a = chain('a-');
    const b = chain('b-', a.root.backing!.backing!);
    const g = buildGraph([a, b]);
    expect(g.nodes.filter((n) => n.id === '/d/base.qcow2')).toHaveLength(1);
    expect(g.byId.get('/d/base.qcow2')!.disks).toEqual([a.top, b.top]);
    expect(
      g.in
        .get('/d/base.qcow2')!
        .map((e) => e.source)
        .sort(),
    ).toEqual(['/d/a-mid.qcow2', '/d/b-mid.qcow2']);
    expect(g.nodes).toHaveLength(10);
  });

  it('lays out top → backing → base left to right with each data file under its image', async () => {
    const g = buildGraph([chain('')]);
    const boxes = await layoutGraph(g, elk);
    const x = (p: string) => boxes.get(p)!.x;
    const y = (p: string) => boxes.get(p)!.y;
    expect(x('/d/top.qcow2')).toBeLessThan(x('/d/mid.qcow2'));
    expect(x('/d/mid.qcow2')).toBeLessThan(x('/d/base.qcow2'));
    for (const [img, data] of [
      ['top.qcow2', 'top.data'],
      ['mid.qcow2', 'mid.data'],
      ['base.qcow2', 'base.data'],
    ]) {
      expect(x(`/d/${data}`)).toBe(x(`/d/${img}`));
      expect(y(`/d/${data}`)).toBeGreaterThan(y(`/d/${img}`) + boxes.get(`/d/${img}`)!.height - 1);
    }
    // One chain: the images sit on one line.
    expect(new Set([y('/d/top.qcow2'), y('/d/mid.qcow2'), y('/d/base.qcow2')]).size).toBe(1);
    expect(attachedDataFiles(g).size).toBe(3);
  });

  it('keeps two disks that share nothing in separate bands', async () => {
    const a = chain('a-');
    const other = node('/e/solo.qcow2', 'image', 0);
    const g = buildGraph([a, { top: other.path, openedAs: other.path, root: other }]);
    const boxes = await layoutGraph(g, elk);
    const solo = boxes.get('/e/solo.qcow2')!;
    const top = boxes.get('/d/a-top.qcow2')!;
    const overlap =
      solo.y < top.y + top.height && top.y < solo.y + solo.height && solo.x < top.x + top.width && top.x < solo.x + solo.width;
    expect(overlap).toBe(false);
  });

  it('survives a chain 2000 deep and a loop back to the top', async () => {
    let n = node('/deep/0', 'backing', 2000);
    for (let i = 1999; i >= 1; i--) n = node(`/deep/${2000 - i}`, 'backing', i, { backing: n });
    const top = node('/deep/top', 'image', 0, { backing: n });
    const g = buildGraph([{ top: top.path, openedAs: top.path, root: top }]);
    expect(g.nodes).toHaveLength(2001);

    const loopBack = node('/l/top', 'backing', 2, { problems: [{ code: 'loop', message: 'loops' }] });
    const loopTop = node('/l/top', 'image', 0, { backing: node('/l/mid', 'backing', 1, { backing: loopBack }) });
    const lg = buildGraph([{ top: '/l/top', openedAs: '/l/top', root: loopTop }]);
    expect(lg.nodes.map((x) => x.id).sort()).toEqual(['/l/mid', '/l/top']);
    expect(lg.byId.get('/l/top')!.problems.map((p) => p.code)).toEqual(['loop']);
    expect(lg.byId.get('/l/top')!.role).toBe('image');
    const boxes = await layoutGraph(lg, elk);
    expect(boxes.size).toBe(2);
  });

  it('walks with the arrow keys and finds the disk of a selection', async () => {
    const d = chain('');
    const g = buildGraph([d]);
    const boxes = await layoutGraph(g, elk);
    expect(neighbour(g, boxes, '/d/top.qcow2', 'ArrowRight')).toBe('/d/mid.qcow2');
    expect(neighbour(g, boxes, '/d/mid.qcow2', 'ArrowLeft')).toBe('/d/top.qcow2');
    expect(neighbour(g, boxes, '/d/mid.qcow2', 'ArrowDown')).toBe('/d/mid.data');
    expect(neighbour(g, boxes, '/d/mid.data', 'ArrowUp')).toBe('/d/mid.qcow2');
    expect(neighbour(g, boxes, null, 'ArrowRight')).toBe('/d/top.qcow2');
    expect(diskFor(g, '/d/base.data', [d])).toBe('/d/top.qcow2');
  });
});
