// Tracker at scale: a load generator speaking the real protocol (scripts/bench/lib/join-load.ts: one
// connection per join, Hello + TrackerJoin + Membership, answer checked) against
//   1. one tracker with the in-memory registry (superdist tracker --no-peer), and
//   2. three tracker front ends sharing a Redis Cluster (3 masters + 3 replicas of Debian's
//      redis-server on loopback ports, started here and removed afterwards),
// each for one channel and for 10k contents; and the same over UDP (scripts/bench/lib/datagram-load.ts:
// --sockets S sockets with --window W announces in flight each, one datagram per join with
// TrackerJoin + Membership, answer checked). Prints registered peers, joins/s, join p50/p99 (the
// last fifth of the fill: under load at that size), tracker RSS per registered peer, Redis round
// trips and commands per join, the load average at the end of each case; writes
// bench-results/tracker-scale.json. A size of 0 skips its case.
// Usage: npx tsx scripts/bench/tracker-scale.ts [--memory-one N] [--memory-many N] [--redis-one N]
//        [--redis-many N] [--udp-one N] [--udp-many N] [--udp-redis-one N] [--udp-redis-many N]
//        [--concurrency C] [--sockets S] [--window W] [--skip-redis] [--result NAME]
// (--result: bench-results/NAME.json instead of tracker-scale.json, for a partial run.)
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { controlCall } from '../../src/control/control-client.js';
import { machineInfo, printTable, writeResult } from './lib/report.js';
import { loadavg } from 'node:os';
import { percentile, runJoins, type JoinTarget, type LoadOptions, type LoadResult } from './lib/join-load.js';
import { runDatagramJoins } from './lib/datagram-load.js';
import { procUsage } from './lib/proc-usage.js';
import { startRedisCluster, type RedisSetup } from '../../test/support/redis.js';

const root = new URL('../..', import.meta.url).pathname;
const BUNDLE = join(root, 'dist/superdist.cjs');

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}
const SIZES = {
  memoryOne: arg('memory-one', 100_000),
  memoryMany: arg('memory-many', 200_000),
  redisOne: arg('redis-one', 30_000),
  redisMany: arg('redis-many', 30_000),
  udpOne: arg('udp-one', 100_000),
  udpMany: arg('udp-many', 200_000),
  udpRedisOne: arg('udp-redis-one', 30_000),
  udpRedisMany: arg('udp-redis-many', 30_000),
};
const SOCKETS = arg('sockets', 8);
const WINDOW = arg('window', 8);
type Load = (o: LoadOptions) => Promise<LoadResult>;
const tcpLoad: Load = runJoins;
const udpLoad: Load = (o) => runDatagramJoins({ ...o, sockets: SOCKETS, window: WINDOW });
const CONCURRENCY = arg('concurrency', 48);
const CONTENTS = 10_000;
const skipRedis = process.argv.includes('--skip-redis');

interface Tracker {
  proc: ChildProcess;
  control: string;
  target: JoinTarget;
}

async function startTracker(dir: string, name: string, extra: string[]): Promise<Tracker> {
  const control = join(dir, `${name}.sock`);
  const proc = spawn(process.execPath, [BUNDLE, 'tracker', '--listen', '127.0.0.1:0', '--control', control, '--state-dir', join(dir, name), '--log-level', 'warn', '--no-peer', ...extra], { stdio: ['ignore', 'ignore', 'inherit'] });
  const until = Date.now() + 20_000;
  for (;;) {
    try {
      const s = (await controlCall(control, 'status')) as { node: { contact: string } };
      const [host, port] = s.node.contact.split(':');
      return { proc, control, target: { host: host as string, port: Number(port) } };
    } catch {
      if (Date.now() > until) throw new Error(`tracker ${name} did not answer status within 20 s`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

function stop(p: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (p.exitCode !== null || p.signalCode !== null) return resolve();
    p.once('exit', () => resolve());
    p.kill('SIGKILL');
  });
}

/** Summed `calls` of the Redis masters' commandstats: all commands, and script calls (round trips). */
function redisCalls(s: RedisSetup): { all: number; scripts: number } {
  let all = 0;
  let scripts = 0;
  for (const n of s.nodes) {
    const out = s.cli(n.port, 'INFO', 'commandstats');
    for (const m of out.matchAll(/^cmdstat_([a-z|]+):calls=(\d+)/gm)) {
      const name = m[1] as string;
      if (name === 'info' || name.startsWith('cluster') || name === 'ping' || name.startsWith('command')) continue;
      all += Number(m[2]);
      if (name === 'evalsha' || name === 'eval') scripts += Number(m[2]);
    }
  }
  return { all, scripts };
}

interface Row {
  case: string;
  registered: number;
  'joins/s': number;
  'p50 ms': number;
  'p99 ms': number;
  'RSS B/peer': number | string;
  'Redis RT/join': number | string;
  'Redis cmds/join': number | string;
  'tracker CPU µs/join': number;
  'Redis CPU µs/join': number | string;
  failed: number;
  load: string;
}

async function runCase(name: string, trackers: Tracker[], n: number, contentOf: (i: number) => string, load: Load, redis?: RedisSetup): Promise<Row & { detail: unknown }> {
  const targets = trackers.map((t) => t.target);
  const prefix = `${name.replace(/[^a-z0-9]/gi, '')}-`;
  // Warm up (JIT, connection paths), then the baseline RSS.
  await load({ targets, contentOf, prefix: `${prefix}warm-`, from: 0, to: 2000, concurrency: CONCURRENCY });
  const rss0 = trackers.map((t) => rssBytes(t.proc.pid as number));
  const cpu0 = trackers.reduce((a, t) => a + (procUsage(t.proc.pid as number)?.cpuS ?? 0), 0);
  const redisCpu0 = redis ? redis.nodes.reduce((a, n) => a + (procUsage(n.proc.pid as number)?.cpuS ?? 0), 0) : 0;
  const calls0 = redis ? redisCalls(redis) : undefined;
  const fifth = Math.floor(n * 0.8);
  const first = await load({
    targets, contentOf, prefix, from: 0, to: fifth, concurrency: CONCURRENCY,
    onProgress: (d) => process.stderr.write(`\r${name}: ${d} joins...`),
  });
  const last = await load({ targets, contentOf, prefix, from: fifth, to: n, concurrency: CONCURRENCY });
  process.stderr.write('\n');
  const calls1 = redis ? redisCalls(redis) : undefined;
  const rss1 = trackers.map((t) => rssBytes(t.proc.pid as number));
  const cpu1 = trackers.reduce((a, t) => a + (procUsage(t.proc.pid as number)?.cpuS ?? 0), 0);
  const redisCpu1 = redis ? redis.nodes.reduce((a, n) => a + (procUsage(n.proc.pid as number)?.cpuS ?? 0), 0) : 0;
  const st = await Promise.all(trackers.map((t) => controlCall(t.control, 'status') as Promise<{ tracker: { registeredPeers: number; joinsPerSec: number; registry: unknown } }>));
  const joined = first.joins + last.joins;
  const sorted = [...last.latenciesMs].sort((a, b) => a - b);
  // The registry also holds the 2,000 warm-up joins; RSS is counted from after them.
  const registered = redis ? joined + 2000 : st.reduce((s, x) => s + x.tracker.registeredPeers, 0);
  const rssDelta = rss1.reduce((a, b) => a + b, 0) - rss0.reduce((a, b) => a + b, 0);
  return {
    case: name,
    registered,
    'joins/s': Math.round(last.joins / last.seconds),
    'p50 ms': Math.round(percentile(sorted, 50) * 10) / 10,
    'p99 ms': Math.round(percentile(sorted, 99) * 10) / 10,
    'RSS B/peer': redis ? '-' : Math.round(rssDelta / Math.max(1, joined)),
    'Redis RT/join': calls0 && calls1 ? Math.round(((calls1.scripts - calls0.scripts) / joined) * 100) / 100 : '-',
    'Redis cmds/join': calls0 && calls1 ? Math.round(((calls1.all - calls0.all) / joined) * 10) / 10 : '-',
    'tracker CPU µs/join': Math.round(((cpu1 - cpu0) / Math.max(1, joined)) * 1e6),
    'Redis CPU µs/join': redis ? Math.round(((redisCpu1 - redisCpu0) / Math.max(1, joined)) * 1e6) : '-',
    failed: first.failed + last.failed,
    load: loadavg().map((x) => x.toFixed(1)).join(' '),
    detail: {
      fill: { joins: first.joins, seconds: first.seconds, joinsPerSec: first.joins / first.seconds },
      last: { joins: last.joins, seconds: last.seconds, members: last.members, redirects: last.redirects },
      errors: [...first.errorSamples, ...last.errorSamples],
      rssBefore: rss0, rssAfter: rss1, trackerStatus: st.map((x) => x.tracker),
      note: redis ? 'RT/join: script calls (round trips) per join, its Membership included (1 for the join + 1 for the Membership)' : undefined,
    },
  };
}

async function main(): Promise<void> {
  const b = spawnSync(process.execPath, ['esbuild.config.mjs'], { cwd: root, encoding: 'utf8' });
  if (b.status !== 0) throw new Error(`bundle build failed: ${b.stderr}`);
  const rows: Array<Row & { detail: unknown }> = [];
  const dir = mkdtempSync(join(tmpdir(), 'sd-tracker-scale-'));
  const running: ChildProcess[] = [];
  let cluster: RedisSetup | undefined;
  try {
    const many = (i: number) => `content-${i % CONTENTS}`;
    for (const [label, n, contentOf, load] of [
      ['memory, one channel', SIZES.memoryOne, () => 'channel-0', tcpLoad],
      [`memory, ${CONTENTS / 1000}k contents`, SIZES.memoryMany, many, tcpLoad],
      ['memory UDP, one channel', SIZES.udpOne, () => 'channel-0', udpLoad],
      [`memory UDP, ${CONTENTS / 1000}k contents`, SIZES.udpMany, many, udpLoad],
    ] as const) {
      if (n <= 0) continue;
      const t = await startTracker(dir, `mem${rows.length}`, []);
      running.push(t.proc);
      rows.push(await runCase(label, [t], n, contentOf, load));
      await stop(t.proc);
    }
    const redisCases = ([
      ['redis cluster x3 FE, one channel', SIZES.redisOne, () => 'channel-0', tcpLoad],
      [`redis cluster x3 FE, ${CONTENTS / 1000}k contents`, SIZES.redisMany, many, tcpLoad],
      ['redis cluster x3 FE UDP, one channel', SIZES.udpRedisOne, () => 'channel-0', udpLoad],
      [`redis cluster x3 FE UDP, ${CONTENTS / 1000}k contents`, SIZES.udpRedisMany, many, udpLoad],
    ] as const).filter((c) => c[1] > 0);
    if (!skipRedis && redisCases.length > 0) {
      cluster = await startRedisCluster();
      for (const [label, n, contentOf, load] of redisCases) {
        const fes: Tracker[] = [];
        for (let k = 0; k < 3; k++) {
          const t = await startTracker(dir, `fe${rows.length}-${k}`, ['--registry', cluster.url]);
          running.push(t.proc);
          fes.push(t);
        }
        rows.push(await runCase(label, fes, n, contentOf, load, cluster));
        for (const t of fes) await stop(t.proc);
      }
    }
  } finally {
    for (const p of running) await stop(p);
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  printTable(rows.map(({ detail: _d, ...r }) => r));
  const resultIdx = process.argv.indexOf('--result');
  const file = writeResult(resultIdx >= 0 ? (process.argv[resultIdx + 1] as string) : 'tracker-scale', { machine: machineInfo(), concurrency: CONCURRENCY, udp: { sockets: SOCKETS, window: WINDOW }, sizes: SIZES, rows });
  console.log(`\nwrote ${file}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
