// `npm run bench`: prints numbers, asserts nothing. Uses the shared corpus so runs compare.
// Each figure with a goal is printed as a ratio to it, with its anchor (a C floor, qemu-img) beside it.
import { benchCorpus } from './corpus.js';
import { benchHosts } from './hosts.js';
import { benchInspect } from './inspect.js';
import { benchRelabel } from './relabel.js';
import { benchRelabelAnchor } from './relabel-anchor.js';
import { benchScan } from './scan.js';
import { benchUi } from './ui.js';

const corpus = benchCorpus();
console.log(`corpus: ${corpus.pool} (11,000 files), ${corpus.deep} (1,000-deep chain)\n`);
benchInspect(corpus);
await benchScan(corpus);
await benchUi(corpus);
await benchRelabel(corpus);
benchRelabelAnchor(corpus);
// Last: it starts 8 loopback sshd hosts, each serving the 11k pool to the app in chromium.
await benchHosts();
