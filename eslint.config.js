// Lint: typescript-eslint's recommended rules (a few off, see below), the folder boundaries of
// docs' layout (what may import what) and no import cycles anywhere.
import js from '@eslint/js';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import { importX } from 'eslint-plugin-import-x';
import { defineConfig, globalIgnores } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const NODE = './electron/node';

// Inside electron/node each folder imports only the folders listed for it (and shared/); a folder
// missing from every list, like cli, is imported by nobody but tests and scripts. relabel and
// access sit side by side: neither imports the other. helper/ holds the privileged verbs and the
// API that reaches them (helper/api.ts), which session and cli use.
const below = {
  native: [],
  core: ['native'],
  libvirt: ['native', 'core'],
  change: ['native', 'core', 'libvirt'],
  relabel: ['native', 'core', 'libvirt', 'change'],
  access: ['native', 'core', 'libvirt', 'change'],
  helper: ['native', 'core', 'libvirt', 'change', 'relabel', 'access'],
  session: ['native', 'core', 'libvirt', 'change', 'relabel', 'access', 'helper'],
  // remote: the agent (session over ssh) and its client; cli, serve and Electron main sit on it.
  remote: ['native', 'core', 'libvirt', 'change', 'relabel', 'access', 'helper', 'session'],
  serve: ['native', 'core', 'libvirt', 'change', 'relabel', 'access', 'helper', 'session', 'remote'],
  cli: ['native', 'core', 'libvirt', 'change', 'relabel', 'access', 'helper', 'serve', 'remote'],
};

const layerZones = Object.entries(below).map(([dir, allowed]) => ({
  target: `${NODE}/${dir}`,
  from: NODE,
  except: [`./${dir}`, ...allowed.map((d) => `./${d}`)],
  message: `electron/node/${dir} may import only ${allowed.length ? allowed.join(', ') + ' and ' : ''}shared/.`,
}));

const zones = [
  {
    target: './shared',
    from: '.',
    except: ['./shared', './node_modules/zod'],
    message: 'shared/ is plain ECMAScript for every side: it imports only shared/ and zod.',
  },
  {
    target: './renderer',
    from: '.',
    except: ['./renderer', './shared', './node_modules'],
    message: 'renderer/ imports only renderer/, shared/ and browser packages.',
  },
  { target: './renderer', from: './node_modules/electron', message: 'The renderer talks to Electron only through window.diskchain.' },
  {
    target: './electron/node',
    from: ['./renderer', './electron/main'],
    message: 'electron/node/ never imports the renderer or Electron main.',
  },
  {
    target: './electron/main',
    from: NODE,
    except: ['./session', './serve', './remote'],
    message: 'Electron main imports electron/node/session, electron/node/serve and electron/node/remote only.',
  },
  { target: './electron/main', from: './renderer', message: 'Electron main never imports the renderer.' },
  {
    target: ['./electron', './renderer', './shared'],
    from: ['./test', './bench', './scripts'],
    message: 'Product code never imports tests, benchmarks or scripts.',
  },
  { target: './bench', from: `${NODE}/cli`, message: 'Only tests and scripts import electron/node/cli.' },
  ...layerZones,
];

export default defineConfig([
  globalIgnores(['dist/', 'node_modules/', 'test-results/', '.bench/', '.tsbuild/']),
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    plugins: { 'import-x': importX },
    settings: {
      // no-cycle parses every module it follows: TypeScript files need the TypeScript parser.
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts', '.tsx'] },
      'import-x/extensions': ['.ts', '.tsx', '.js', '.mjs'],
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: './tsconfig.base.json' })],
    },
    rules: {
      // Any depth (the rule's strongly connected components keep that to ~2 s); type-only imports
      // are not followed: they vanish at run time, where a cycle makes module order matter.
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      'import-x/no-restricted-paths': ['error', { zones }],
    },
  },
  {
    files: ['shared/**', 'renderer/**'],
    rules: { 'import-x/no-nodejs-modules': 'error' },
  },
  {
    rules: {
      // `_`-prefixed names mark parameters a signature needs; an ignored catch binding is fine.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    // Tests hand hostile, ill-typed values to the code under test.
    files: ['test/**', 'bench/**'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: globals.node },
  },
]);
