// Many hosts in one window (issue 15): 8 loopback sshd "hosts" on 127.0.0.2–9, each serving the
// 11,000-file pool (one folder, seen by all 8, as shared storage would be), added to
// `diskchain serve` and scanned there from Debian's chromium. Reports, each as a ratio to its
// goal (at most 1 meets it): Scan → the first host's trees painted, the window's heaps, each
// frame's main-thread work while the hosts stream in, and the bytes each agent wrote to its ssh
// session (compressed frames: what crosses the wire, before ssh's own framing). The hosts run
// the built agent bundle at nice 19 (their sessions' scheduling groups too), as other machines
// would not take this one's CPU.
// Run: npm run build, then node --import tsx bench/hosts.ts (as root: sshd and the agents log in as root).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type Page } from 'playwright-core';
import { parseHostSpec } from '../electron/node/remote/host-spec.js';
import { benchCorpus } from './corpus.js';
import { fmt } from './stats.js';
import { CHROMIUM_ARGS, rendererDir, startServe } from '../test/ui/helpers.js';
import { tempDir } from '../test/support/qemu.js';
import { sshClient, startSshd, type Sshd } from '../test/support/sshd.js';
import { stateDir } from '../test/support/state.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const HOSTS = 8;
const GOAL_FIRST_MS = 2000;
const GOAL_HEAP_MB = 300;
const GOAL_FRAME_MS = 16;

const ratio = (x: number, goal: number) => `${(x / goal).toFixed(2)}×`;

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}

/** The agent processes: those running the launcher installed under `home`. */
function agentPids(home: string): string[] {
  const launcher = path.join(home, '.local/share/diskchain/diskchain.mjs');
  return fs.readdirSync('/proc').filter((pid) => {
    try {
      return /^\d+$/.test(pid) && fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(launcher);
    } catch {
      return false; // gone meanwhile
    }
  });
}

/** Bytes each agent process wrote, by the sshd address it serves. */
function agentWrites(home: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const pid of agentPids(home)) {
    try {
      const env = fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
      // SSH_CONNECTION: client-ip client-port server-ip server-port.
      const server = env.find((e) => e.startsWith('SSH_CONNECTION='))?.split(' ')[2];
      const wchar = /wchar: (\d+)/.exec(fs.readFileSync(`/proc/${pid}/io`, 'utf8'))?.[1];
      if (server && wchar) out.set(server, (out.get(server) ?? 0) + Number(wchar));
    } catch {
      // Gone meanwhile.
    }
  }
  return out;
}

/** The serve process's resident memory (the hub and its connections live there). */
function rssMb(pid: number): number {
  const kb = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kb) / 1024;
}

/** Start recording each frame's main-thread work (as bench/ui.ts measures it). */
async function recordFrames(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = window as unknown as { __work: number[]; __run: boolean };
    w.__work = [];
    w.__run = true;
    const ch = new MessageChannel();
    let start = 0;
    ch.port1.onmessage = () => w.__work.push(performance.now() - start);
    const tick = (t: number) => {
      start = t;
      ch.port2.postMessage(null);
      if (w.__run) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  });
}

async function stopFrames(page: Page): Promise<number[]> {
  return page.evaluate(() => {
    const w = window as unknown as { __work: number[]; __run: boolean };
    w.__run = false;
    return w.__work;
  });
}

export async function benchHosts(): Promise<void> {
  const pool = benchCorpus().pool;
  const files = fs.readdirSync(pool).length;
  const tmp = tempDir('diskchain-bench-hosts-');
  const home = path.join(tmp.dir, 'home');
  fs.mkdirSync(home);
  // The hosts run the agent bundle the one-step copy installs (npm run bench builds it), as a
  // real host would: the source agent's on-the-fly TypeScript compiling in each of 8 agents and
  // their workers took this machine's CPU from the window while the scans streamed.
  const bundle = path.join(ROOT, 'dist/agent');
  if (!fs.existsSync(path.join(bundle, 'diskchain.mjs'))) throw new Error(`${bundle} is not built: run npm run build`);
  fs.cpSync(bundle, path.join(home, '.local/share/diskchain'), { recursive: true });
  const client = sshClient();
  const servers: Sshd[] = [];
  let serve: Awaited<ReturnType<typeof startServe>> | undefined;
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  try {
    for (let i = 0; i < HOSTS; i++)
      servers.push(
        await startSshd(`127.0.0.${2 + i}`, ['root'], client.keyPub, undefined, [`SetEnv HOME=${home} DISKCHAIN_STATE_DIR=${stateDir()}`]),
      );
    for (const s of servers) client.trust(s);
    // The 8 hosts would be 8 other machines: here they share this machine's cores with the window,
    // so their sshd (and the agents it starts) run at the lowest priority, and what is measured is
    // the window's work, not the hosts' scans crowding it out.
    for (const s of servers) os.setPriority(s.pid, 19);
    const config = path.join(tmp.dir, 'config');
    const hosts = servers.map((s) => ({ id: parseHostSpec(`ssh://root@${s.addr}:${s.port}`).id, s }));
    fs.mkdirSync(path.join(config, 'diskchain'), { recursive: true });
    fs.writeFileSync(
      path.join(config, 'diskchain/hosts.json'),
      JSON.stringify(hosts.map((h) => ({ id: h.id, spec: `ssh://root@${h.s.addr}:${h.s.port}`, addedAt: new Date().toISOString() }))),
      { mode: 0o600 },
    );
    serve = await startServe(['--port', '0'], {
      ...client.env,
      DISKCHAIN_RENDERER_DIR: rendererDir(),
      DISKCHAIN_STATE_DIR: stateDir(),
      XDG_CONFIG_HOME: config,
    });
    const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
    await page.addInitScript({ content: 'globalThis.__name = (f) => f;' });
    const t0 = Date.now();
    await page.goto(serve.url);
    // The hosts kept from before connect by themselves (4 handshakes at once).
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid="host-row"][data-state="connected"]').length === n, HOSTS, {
      timeout: 300_000,
      polling: 250,
    });
    const connected = Date.now() - t0;
    // Each ssh session is a scheduling group of its own (the kernel's autogroups, on by default):
    // between groups a process's nice counts for nothing, so the agents' sessions are niced too.
    for (const pid of agentPids(home)) {
      try {
        fs.writeFileSync(`/proc/${pid}/autogroup`, '19');
      } catch {
        // No autogroups here (nice alone then does it), or the agent is gone.
      }
    }
    const before = agentWrites(home);
    for (const h of hosts) await page.locator(`[data-testid="host-row"][data-host="${h.id}"] [data-testid="host-folder"]`).fill(pool);
    await recordFrames(page);
    // DISKCHAIN_BENCH_PROFILE=file.cpuprofile: the renderer's CPU profile while the hosts stream in.
    const profileTo = process.env.DISKCHAIN_BENCH_PROFILE;
    const profiler = profileTo ? await page.context().newCDPSession(page) : null;
    if (profiler) {
      await profiler.send('Profiler.enable');
      await profiler.send('Profiler.start');
    }
    const start = await page.evaluate(() => performance.now());
    for (const h of hosts) await page.locator(`[data-testid="host-row"][data-host="${h.id}"] [data-testid="host-scan"]`).click();
    const first = await page.evaluate(
      ({ ids, start }) =>
        new Promise<number>((resolve) => {
          const check = () => ids.some((id) => document.querySelector(`[data-testid="forest-node"][data-path^="${CSS.escape(id)}:"]`));
          const seen = new MutationObserver(() => {
            if (!check()) return;
            seen.disconnect();
            requestAnimationFrame(() => setTimeout(() => resolve(performance.now() - start), 0));
          });
          seen.observe(document.body, { childList: true, subtree: true });
        }),
      { ids: hosts.map((h) => h.id), start },
    );
    // Every host's scan answered and every host's files drawn (the pool's files on each host).
    await page.waitForFunction(
      (want) =>
        document.querySelector('[data-testid="forest-count"]')?.getAttribute('data-files') === String(want) &&
        !document.querySelector('[data-testid="host-scanning"]'),
      HOSTS * files,
      { timeout: 600_000, polling: 500 },
    );
    const all = (await page.evaluate(() => performance.now())) - start;
    const work = await stopFrames(page);
    if (profiler && profileTo) fs.writeFileSync(profileTo, JSON.stringify((await profiler.send('Profiler.stop')).profile));
    const after = agentWrites(home);
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('HeapProfiler.collectGarbage');
    const heap = (await cdp.send('Runtime.getHeapUsage')).usedSize / 2 ** 20;
    const rss = rssMb(serve.proc.pid!);
    const p95 = percentile(work, 95);
    const wire = hosts.map((h) => (after.get(h.s.addr) ?? 0) - (before.get(h.s.addr) ?? 0));
    const mean = wire.reduce((a, b) => a + b, 0) / wire.length;
    console.log(
      `\nHosts: ${HOSTS} loopback sshd hosts × the ${files.toLocaleString('en')}-file pool, in chromium through \`diskchain serve\``,
    );
    console.log(`  all ${HOSTS} hosts connected (from page load)  ${fmt(connected)}`);
    console.log(`  Scan → first host's trees painted     ${fmt(first)}   ${ratio(first, GOAL_FIRST_MS)} of the goal (2 s)`);
    console.log(`  Scan → every host's forest painted    ${fmt(all)}`);
    console.log(`  renderer heap after GC                ${heap.toFixed(0)} MB   ${ratio(heap, GOAL_HEAP_MB)} of the goal (300 MB)`);
    console.log(`  serve process (hub) resident          ${rss.toFixed(0)} MB   ${ratio(rss, GOAL_HEAP_MB)} of the goal (300 MB)`);
    console.log(
      `  main-thread work per frame streaming  p50 ${fmt(percentile(work, 50))}, p95 ${fmt(p95)}, max ${fmt(Math.max(...work))} over ${work.length} frames   ${ratio(p95, GOAL_FRAME_MS)} of the goal (p95 16 ms)`,
    );
    console.log(
      `  bytes on the wire per host            ${(mean / 1024).toFixed(0)} KiB mean (${wire.map((b) => (b / 1024).toFixed(0)).join(', ')} KiB): agent frames, large ones gzipped`,
    );
  } finally {
    await browser.close();
    await serve?.stop();
    for (const s of servers) await s.stop();
    client.close();
    tmp.cleanup();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  benchHosts().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
