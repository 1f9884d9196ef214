// The environments and import boundaries are enforced, not just written down: in throwaway
// copies of the checkout, each probe breaks one rule and typecheck or lint must name it; the
// unmodified copy must pass both. Copies run side by side; each probe builds only the projects it
// touches (the solution's `tsc -b` builds those same projects with the same options).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../support/qemu.js';
import { copyCheckout, lintErrors, run, tscBuild, type LintMessage, type Run } from './copy.js';

const PROBES = {
  rendererNodeFs: { 'renderer/probe-node-fs.ts': "import { readFileSync } from 'node:fs';\nexport const probe = readFileSync;\n" },
  coreDocument: { 'electron/node/core/probe-document.ts': 'export const probe = (): string => document.title;\n' },
  sharedChain: {
    'shared/probe-chain.ts': "import * as chain from '../electron/node/core/chain.js';\nexport const probe = chain;\n",
  },
  sharedCoreCycle: {
    'shared/probe-cycle.ts':
      "import { probeCore } from '../electron/node/core/probe-cycle.js';\nexport const probeShared = () => probeCore;\n",
    'electron/node/core/probe-cycle.ts':
      "import { probeShared } from '../../../shared/probe-cycle.js';\nexport const probeCore = () => probeShared;\n",
  },
  storeCycle: {
    'renderer/probe-store-a.ts':
      "import { create } from 'zustand';\nimport { useProbeB } from './probe-store-b.js';\nexport const useProbeA = create(() => ({ b: () => useProbeB.getState() }));\n",
    'renderer/probe-store-b.ts':
      "import { create } from 'zustand';\nimport { useProbeA } from './probe-store-a.js';\nexport const useProbeB = create(() => ({ a: () => useProbeA.getState() }));\n",
  },
};

const temp = tempDir('diskchain-structure-');
let cleanTypecheck: Run;
let cleanLint: Run;
let rendererNodeFs: Run;
let coreDocument: Run;
let sharedChainTsc: Run;
let sharedChainLint: LintMessage[];
let sharedCoreCycle: LintMessage[];
let storeCycle: LintMessage[];

beforeAll(async () => {
  const copy = (name: string, probes: Record<string, string> = {}) => copyCheckout(`${temp.dir}/${name}`, probes);
  const base = copy('clean');
  const nodeFs = copy('renderer-node-fs', PROBES.rendererNodeFs);
  const doc = copy('core-document', PROBES.coreDocument);
  const chain = copy('shared-chain', PROBES.sharedChain);
  const cycle = copy('shared-core-cycle', PROBES.sharedCoreCycle);
  const stores = copy('store-cycle', PROBES.storeCycle);
  [cleanTypecheck, cleanLint, rendererNodeFs, coreDocument, sharedChainTsc, sharedChainLint, sharedCoreCycle, storeCycle] =
    await Promise.all([
      run(base, 'npm', ['run', '--silent', 'typecheck']),
      run(base, 'npm', ['run', '--silent', 'lint']),
      tscBuild(nodeFs, 'tsconfig.renderer.json'),
      tscBuild(doc, 'tsconfig.node.json'),
      tscBuild(chain, 'tsconfig.shared.json'),
      lintErrors(chain, ...Object.keys(PROBES.sharedChain)),
      lintErrors(cycle, ...Object.keys(PROBES.sharedCoreCycle)),
      lintErrors(stores, ...Object.keys(PROBES.storeCycle)),
    ]);
}, 180_000);

afterAll(() => temp.cleanup());

/** tsc's `file(line,col): error TSnnnn` lines for one file. */
function tscErrorsIn(r: Run, file: string): string[] {
  return r.stdout.split('\n').filter((line) => line.startsWith(`${file}(`) && line.includes('error TS'));
}

describe('environments and import boundaries', () => {
  it('the unmodified checkout typechecks and lints', () => {
    expect(cleanTypecheck.code, cleanTypecheck.stdout + cleanTypecheck.stderr).toBe(0);
    expect(cleanLint.code, cleanLint.stdout + cleanLint.stderr).toBe(0);
  });

  it('a renderer file cannot import node:fs (no Node types in the renderer)', () => {
    expect(rendererNodeFs.code).not.toBe(0);
    expect(tscErrorsIn(rendererNodeFs, 'renderer/probe-node-fs.ts').join('\n')).toMatch(/TS2307: Cannot find module 'node:fs'/);
  });

  it('a core file cannot use document (no DOM in electron/node)', () => {
    expect(coreDocument.code).not.toBe(0);
    expect(tscErrorsIn(coreDocument, 'electron/node/core/probe-document.ts').join('\n')).toMatch(/Cannot find name 'document'/);
  });

  it('a shared file cannot import the chain resolver', () => {
    expect(sharedChainTsc.code).not.toBe(0);
    expect(tscErrorsIn(sharedChainTsc, 'shared/probe-chain.ts').join('\n')).toMatch(/core\/chain\.ts/);
    expect(sharedChainLint).toContainEqual(
      expect.objectContaining({ file: 'shared/probe-chain.ts', rule: 'import-x/no-restricted-paths' }),
    );
  });

  it('shared and core importing each other is a cycle and a boundary break', () => {
    const rules = (file: string) => sharedCoreCycle.filter((m) => m.file === file).map((m) => m.rule);
    expect(rules('shared/probe-cycle.ts')).toEqual(expect.arrayContaining(['import-x/no-cycle', 'import-x/no-restricted-paths']));
    expect(rules('electron/node/core/probe-cycle.ts')).toContain('import-x/no-cycle');
  });

  it('two renderer stores importing each other is a cycle', () => {
    for (const file of Object.keys(PROBES.storeCycle)) {
      expect(storeCycle).toContainEqual(expect.objectContaining({ file, rule: 'import-x/no-cycle' }));
    }
  });
});
