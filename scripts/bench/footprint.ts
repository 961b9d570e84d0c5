// Footprint of the appliance's daemon: resident memory and CPU of
//   (a) an idle daemon (`superdist daemon --config FILE`: a plain node with a tracker, no player,
//       nothing joined), and
//   (b) a daemon relaying a 4 Mbit/s live channel to 5 partners: a tracker, a `publish live` source
//       whose only partners are the tracker and the measured node (engine.maxPartners = 2: the
//       tracker, itself a peer, takes one slot and holds no chunks), and 5 other nodes that
//       cannot serve chunks to each other (live.uploadBps = 1000: every request to them is refused
//       as busy), so each of them takes the whole stream from the measured node.
// CPU is (utime + stime) from /proc/PID/stat over the measured window ÷ wall time (100 % = one
// core); memory is VmRSS sampled every second and VmHWM at the end, from /proc/PID/status. Upload
// is the measured node's `status --json` net.bytesOut over the window. The relay is measured once
// its chunk window is full (default 120 chunks), and again with a smaller window (--small-window N
// chunks, live.windowChunksMax; 0 skips it): at 4 Mbit/s the window is most of the memory. Needs the bundle
// (`node esbuild.config.mjs`) and ffmpeg.
//
//   npx tsx scripts/bench/footprint.ts [--seconds 30] [--warmup 15] [--partners 5] [--kbps 4000] [--small-window 30]
//                                      [--cases idle,relay,small] [--no-unit-env] [--profile]
// The measured daemons get the node flags and Environment= settings of systemd/superdist.service
// (--no-unit-env: neither).
//                                      [--node-flags "--max-semi-space-size=2"]
//
// --profile runs the measured daemons with `node --cpu-prof` (profiles in bench-results/profiles/).
// Prints a table; writes bench-results/footprint.json and bench-results/footprint.svg.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { controlCall } from '../../src/control/control-client.js';
import type { Status } from '../../src/control/status.js';
import { makeTestStream } from '../../test/support/media.js';
import { barChart } from './lib/plot.js';
import { machineInfo, printTable, RESULTS_DIR, writePlot, writeResult } from './lib/report.js';
import { arg } from './lib/bench-args.js';

const BUNDLE = fileURLToPath(new URL('../../dist/superdist.cjs', import.meta.url));
const MEASURE_S = Number(arg('seconds', '30'));
const WARMUP_S = Number(arg('warmup', '15'));
const PARTNERS = Number(arg('partners', '5'));
const STREAM_KBPS = Number(arg('kbps', '4000'));
const PROFILE = process.argv.includes('--profile');
const UNIT = fileURLToPath(new URL('../../systemd/superdist.service', import.meta.url));
const USE_UNIT = !process.argv.includes('--no-unit-env');
/**
 * Node/V8 flags of the measured daemons: the unit's (those between /usr/bin/node and the bundle in
 * its ExecStart=, e.g. --lite-mode), then --node-flags (e.g. "--max-semi-space-size=2").
 */
const NODE_FLAGS = [...(USE_UNIT ? unitNodeFlags(readFileSync(UNIT, 'utf8')) : []), ...arg('node-flags', '').split(' ').filter(Boolean)];
/** The unit's Environment= settings (glibc malloc tuning, NODE_ENV): the daemon is measured as systemd runs it. */
const UNIT_ENV: Record<string, string> = USE_UNIT ? unitEnvironment(readFileSync(UNIT, 'utf8')) : {};

function unitNodeFlags(unit: string): string[] {
  const m = /^ExecStart=\S*node((?:\s+-\S+)*)\s+\S*superdist\.cjs\b/m.exec(unit);
  return m ? m[1]!.split(/\s+/).filter(Boolean) : [];
}

function unitEnvironment(unit: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of unit.split('\n')) {
    const m = /^Environment=(.*)$/.exec(line.trim());
    if (!m) continue;
    for (const kv of m[1]!.split(/\s+/)) {
      const eq = kv.indexOf('=');
      if (eq > 0) env[kv.slice(0, eq)] = kv.slice(eq + 1);
    }
  }
  return env;
}
const PROFILE_DIR = join(RESULTS_DIR, 'profiles');
const TARGET_RSS_MB = 80;
const TARGET_CPU_PCT = 10;
const USER_HZ = 100; // /proc/PID/stat clock ticks per second on Linux

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(rest[11]) + Number(rest[12]); // utime, stime
}

function memKb(pid: number): { rss: number; hwm: number } {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(s)?.[1] ?? NaN);
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

async function poll(sock: string, timeoutMs = 3000): Promise<Status | undefined> {
  try {
    return (await controlCall(sock, 'status', {}, timeoutMs)) as Status;
  } catch {
    return undefined;
  }
}

async function until<T>(what: string, ms: number, probe: () => Promise<T | undefined | false | 0>): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false && v !== 0) return v;
    if (Date.now() > end) throw new Error(`footprint: timed out after ${ms} ms waiting for ${what}`);
    await sleep(200);
  }
}

class Swarm {
  readonly dir = mkdtempSync(join(tmpdir(), 'sd-footprint-'));
  private readonly children: ChildProcess[] = [];

  sock(name: string): string {
    return join(this.dir, `${name}.sock`);
  }

  /** `superdist ARGS` with its own control socket and state dir; logs at warn. */
  cli(name: string, args: string[]): ChildProcess {
    return this.track(spawn(process.execPath, [BUNDLE, ...args, '--control', this.sock(name), '--state-dir', join(this.dir, name), '--log-level', 'warn'], { stdio: 'ignore' }));
  }

  /** Extra config keys the bundle accepts (`daemon --check`): the web remote, when built in, on a free port. */
  private extras(file: string, config: Record<string, unknown>): Record<string, unknown> {
    const extra = { web: { port: 0 } };
    writeFileSync(file, JSON.stringify({ ...config, ...extra }));
    const ok = spawnSync(process.execPath, [BUNDLE, 'daemon', '--config', file, '--check'], { stdio: 'ignore' }).status === 0;
    return ok ? extra : {};
  }

  /** `superdist daemon --config FILE`, the way systemd runs it (info logs to a file, like journald gets them). */
  daemon(name: string, config: Record<string, unknown>): ChildProcess {
    const file = join(this.dir, `${name}.json`);
    const cfg = { control: this.sock(name), stateDir: join(this.dir, name), logLevel: 'info', player: { kind: 'none' }, ...config };
    writeFileSync(file, JSON.stringify({ ...cfg, ...this.extras(file, cfg) }, null, 2));
    const prof = PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`, `--cpu-prof-name=footprint-${name}-${Date.now()}.cpuprofile`] : [];
    if (PROFILE) mkdirSync(PROFILE_DIR, { recursive: true });
    const log = join(this.dir, `${name}.log`);
    const child = spawn('/bin/sh', ['-c', `exec "$0" "$@" >>"${log}" 2>&1`, process.execPath, ...NODE_FLAGS, ...prof, BUNDLE, 'daemon', '--config', file], { stdio: 'ignore', env: { ...process.env, ...UNIT_ENV } });
    return this.track(child);
  }

  async tracker(): Promise<string> {
    this.cli('tracker', ['tracker', '--listen', '127.0.0.1:0']);
    return (await until('the tracker', 10_000, () => poll(this.sock('tracker')))).node.contact;
  }

  private track(c: ChildProcess): ChildProcess {
    this.children.push(c);
    return c;
  }

  async close(): Promise<void> {
    for (const c of this.children) c.kill('SIGTERM');
    await sleep(2000);
    for (const c of this.children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }
}

interface Measure {
  cpuPct: number;
  rssMeanMB: number;
  rssMaxMB: number;
  hwmMB: number;
  uploadMbps: number;
  downloadMbps: number;
}

/** Samples /proc every second over the window; reads net bytes from status at both ends. */
async function measure(pid: number, sock: string): Promise<Measure> {
  const s0 = await poll(sock);
  const t0 = Date.now();
  const c0 = cpuTicks(pid);
  const rss: number[] = [];
  while (Date.now() - t0 < MEASURE_S * 1000) {
    await sleep(1000);
    rss.push(memKb(pid).rss);
  }
  const c1 = cpuTicks(pid);
  const wallS = (Date.now() - t0) / 1000;
  const s1 = await poll(sock);
  const hwm = memKb(pid).hwm;
  const mb = (kb: number) => kb / 1024;
  const rate = (a: number | undefined, b: number | undefined) => ((b ?? 0) - (a ?? 0)) * 8 / wallS / 1e6;
  return {
    cpuPct: ((c1 - c0) / USER_HZ / wallS) * 100,
    rssMeanMB: mb(rss.reduce((x, y) => x + y, 0) / rss.length),
    rssMaxMB: mb(Math.max(...rss)),
    hwmMB: mb(hwm),
    uploadMbps: rate(s0?.net.bytesOut, s1?.net.bytesOut),
    downloadMbps: rate(s0?.net.bytesIn, s1?.net.bytesIn),
  };
}

async function idleDaemon(): Promise<Measure> {
  const swarm = new Swarm();
  try {
    const tracker = await swarm.tracker();
    const d = swarm.daemon('idle', { node: { role: 'node' }, tracker, listen: '127.0.0.1:0' });
    await until('the idle daemon', 15_000, () => poll(swarm.sock('idle')));
    await sleep(WARMUP_S * 1000);
    return await measure(d.pid!, swarm.sock('idle'));
  } finally {
    await swarm.close();
  }
}

interface RelayResult extends Measure {
  streamMbps: number;
  uploadFactor: number;
  partners: number;
  /** Other nodes the source served directly (0: everything they got came through the measured node). */
  leavesOnSource: number;
  leafContinuityMin: number;
  leafBytesInMbpsMean: number;
  /** Chunk bytes the measured node holds (status memory.bufferBytes) and its buffer budget. */
  bufferMB: number;
  budgetMB: number;
  /** Seconds from the partners' start to the measured window (until the chunk window was full). */
  warmupS: number;
  windowChunks: number;
  leaves: { continuity: number; chunkInMbps: number; partnerOfRelay: boolean; partners: number }[];
}

/** Polls the relay's buffer bytes until they stop growing (the chunk window is full), at most `capS`. */
async function untilBufferSteady(sock: string, capS: number): Promise<number> {
  const t0 = Date.now();
  let last = -1;
  for (;;) {
    const b = (await poll(sock))?.memory.bufferBytes ?? 0;
    if (last > 0 && b <= last * 1.01) return (Date.now() - t0) / 1000;
    if (Date.now() - t0 > capS * 1000) return (Date.now() - t0) / 1000;
    last = b;
    await sleep(5000);
  }
}

async function relayDaemon(input: string, extra: Record<string, unknown>): Promise<RelayResult> {
  const swarm = new Swarm();
  try {
    const tracker = await swarm.tracker();
    // The source serves the measured node only (its other slot goes to the tracker, which joins first).
    swarm.cli('source', ['publish', 'live', '--tracker', tracker, '--channel', 'bench', '--input', input, '--loop', '--listen', '127.0.0.1:0', '--set', 'engine.minPartners=1', '--set', 'engine.maxPartners=2']);
    await until('the source', 15_000, async () => (await poll(swarm.sock('source')))?.contents[0]?.source?.chunks);
    const relay = swarm.daemon('relay', { node: { role: 'node' }, tracker, listen: '127.0.0.1:0', watch: 'bench', engine: { maxPartners: PARTNERS + 2 }, ...extra });
    await until('the relay to receive the stream', 30_000, async () => ((await poll(swarm.sock('relay')))?.contents[0]?.chunkBytesIn ?? 0) > 1_000_000);
    const leaves: string[] = [];
    for (let i = 0; i < PARTNERS; i++) {
      swarm.cli(`leaf${i}`, ['node', '--tracker', tracker, '--listen', '127.0.0.1:0', '--watch', 'bench', '--player', 'none', '--set', 'live.uploadBps=1000']);
      leaves.push(swarm.sock(`leaf${i}`));
    }
    await sleep(WARMUP_S * 1000);
    // Steady state: the relay's chunk window has filled (at most 200 s more).
    const steadyS = WARMUP_S + (await untilBufferSteady(swarm.sock('relay'), 200));
    const l0 = await Promise.all(leaves.map((s) => poll(s)));
    const src0 = await poll(swarm.sock('source'));
    const m = await measure(relay.pid!, swarm.sock('relay'));
    const src1 = await poll(swarm.sock('source'));
    const l1 = await Promise.all(leaves.map((s) => poll(s)));
    const r = await poll(swarm.sock('relay'));
    const src = await poll(swarm.sock('source'));
    const leafIds = new Set(l1.map((x) => x?.node.id));
    const leavesOnSource = (src?.contents[0]?.partnerIds ?? []).filter((id) => leafIds.has(id)).length;
    const streamBytes = (src1?.contents[0]?.source?.streamBytes ?? 0) - (src0?.contents[0]?.source?.streamBytes ?? 0);
    const streamMbps = (streamBytes * 8) / MEASURE_S / 1e6;
    const cont = l1.map((b, i) => {
      const a = l0[i]?.contents[0];
      const due = (b?.contents[0]?.chunksDue ?? 0) - (a?.chunksDue ?? 0);
      return due > 0 ? ((b?.contents[0]?.chunksOnTime ?? 0) - (a?.chunksOnTime ?? 0)) / due : 0;
    });
    const leafIn = l1.map((b, i) => (((b?.contents[0]?.chunkBytesIn ?? 0) - (l0[i]?.contents[0]?.chunkBytesIn ?? 0)) * 8) / MEASURE_S / 1e6);
    return {
      ...m,
      streamMbps,
      uploadFactor: streamMbps > 0 ? m.uploadMbps / streamMbps : NaN,
      partners: r?.contents[0]?.partners ?? 0,
      leavesOnSource,
      leafContinuityMin: Math.min(...cont),
      leafBytesInMbpsMean: leafIn.reduce((x, y) => x + y, 0) / leafIn.length,
      warmupS: Math.round(steadyS),
      windowChunks: r?.contents[0]?.windowChunks ?? 0,
      bufferMB: (r?.memory.bufferBytes ?? 0) / 2 ** 20,
      budgetMB: (r?.memory.budgetBytes ?? 0) / 2 ** 20,
      leaves: l1.map((b, i) => ({
        continuity: cont[i]!,
        chunkInMbps: leafIn[i]!,
        partnerOfRelay: (r?.contents[0]?.partnerIds ?? []).includes(b?.node.id ?? '?'),
        partners: b?.contents[0]?.partners ?? 0,
      })),
    };
  } finally {
    await swarm.close();
  }
}

const SMALL_WINDOW = Number(arg('small-window', '30'));
/** Which cases to run: idle, relay (default window), small (the small window). */
const CASES = new Set(arg('cases', 'idle,relay,small').split(','));
const mediaDir = mkdtempSync(join(tmpdir(), 'sd-footprint-media-'));
try {
  process.stderr.write(`footprint: making a ${STREAM_KBPS} kbit/s MPEG-TS with ffmpeg...\n`);
  const input = makeTestStream({ seconds: 60, bitrateKbps: STREAM_KBPS, size: '640x360', path: join(mediaDir, 'input.ts') });
  const load0 = loadavg();
  process.stderr.write(`footprint: (a) idle daemon, ${WARMUP_S} s warm-up + ${MEASURE_S} s measured...\n`);
  const idle = CASES.has('idle') ? await idleDaemon() : undefined;
  const relays: { label: string; config: Record<string, unknown>; result?: RelayResult }[] = [
    ...(CASES.has('relay') ? [{ label: `relay to ${PARTNERS}, default window`, config: {} }] : []),
    ...(SMALL_WINDOW > 0 && CASES.has('small') ? [{ label: `relay to ${PARTNERS}, ${SMALL_WINDOW}-chunk window`, config: { live: { windowChunksMax: SMALL_WINDOW } } }] : []),
  ];
  for (const r of relays) {
    process.stderr.write(`footprint: (b) ${r.label}: ${STREAM_KBPS / 1000} Mbit/s, warm-up until the chunk window is full + ${MEASURE_S} s measured...\n`);
    r.result = await relayDaemon(input, r.config);
  }
  const load1 = loadavg();

  const f = (v: number, d = 1) => (Number.isFinite(v) ? v.toFixed(d) : '-');
  const verdict = (m: Measure) => `${m.rssMaxMB <= TARGET_RSS_MB ? 'ok' : 'MISSED'} / ${m.cpuPct <= TARGET_CPU_PCT ? 'ok' : 'MISSED'}`;
  const row = (label: string, m: Measure, extra: Record<string, string | number>) => ({
    case: label,
    'CPU % of a core': f(m.cpuPct),
    'RSS mean MB': f(m.rssMeanMB),
    'RSS max MB': f(m.rssMaxMB),
    'VmHWM MB': f(m.hwmMB),
    'up Mbit/s': f(m.uploadMbps, 2),
    'down Mbit/s': f(m.downloadMbps, 2),
    ...extra,
    'RSS / CPU target': verdict(m),
  });
  console.log(`\nsuperdist daemon footprint (${MEASURE_S} s measured) — targets: RSS <= ${TARGET_RSS_MB} MB, CPU <= ${TARGET_CPU_PCT}% of one core; MB = 2^20 bytes`);
  console.log(`load average before ${load0.map((x) => x.toFixed(2)).join(' ')}, after ${load1.map((x) => x.toFixed(2)).join(' ')} (shared machine: other work runs alongside)`);
  printTable([
    ...(idle ? [row('idle daemon', idle, { 'chunk buffer MB': '0', 'upload × stream': '-' })] : []),
    ...relays.map((r) => row(r.label, r.result!, { 'chunk buffer MB': f(r.result!.bufferMB), 'upload × stream': f(r.result!.uploadFactor, 2) })),
  ]);
  for (const r of relays) {
    const x = r.result!;
    console.log(
      `${r.label}: stream ${f(x.streamMbps, 2)} Mbit/s, window ${x.windowChunks} chunks (${f(x.bufferMB)} MB held, budget ${f(x.budgetMB, 0)} MB) after ${x.warmupS} s, ` +
        `${x.partners} partners; the ${PARTNERS} others took ${x.leaves.map((l) => `${f(l.chunkInMbps, 2)}${l.partnerOfRelay ? '' : '(not a partner)'}`).join(' / ')} Mbit/s of chunks, ` +
        `continuity min ${f(x.leafContinuityMin, 3)}, served by the source directly: ${x.leavesOnSource}`,
    );
  }
  writeResult('footprint', {
    machine: machineInfo(),
    loadAverage: { before: load0, after: load1, note: 'the machine is shared with other work; CPU figures include its interference' },
    method: { measureS: MEASURE_S, warmupS: WARMUP_S, partners: PARTNERS, streamKbps: STREAM_KBPS, cpu: '(utime+stime)/wall from /proc/PID/stat, 100 = one core', rss: 'VmRSS sampled every 1 s, VmHWM at the end, /proc/PID/status; MB = 2^20 bytes', profiled: PROFILE, nodeFlags: NODE_FLAGS, unitEnvironment: UNIT_ENV },
    targets: { rssMB: TARGET_RSS_MB, cpuPct: TARGET_CPU_PCT },
    idle,
    relays: relays.map((r) => ({ label: r.label, config: r.config, ...r.result! })),
  });
  writePlot(
    'footprint',
    barChart({
      title: `superdist daemon: CPU (% of one core), RSS (MB); targets ${TARGET_CPU_PCT}% / ${TARGET_RSS_MB} MB`,
      unit: '',
      bars: [
        ...(idle
          ? [
              { label: 'idle: CPU %', value: idle.cpuPct },
              { label: 'idle: RSS max MB', value: idle.rssMaxMB },
            ]
          : []),
        ...relays.flatMap((r) => [
          { label: `${r.label}: CPU %`, value: r.result!.cpuPct },
          { label: `${r.label}: RSS max MB`, value: r.result!.rssMaxMB },
          { label: `${r.label}: upload Mbit/s`, value: r.result!.uploadMbps },
        ]),
      ],
    }),
  );
} finally {
  rmSync(mediaDir, { recursive: true, force: true });
}
