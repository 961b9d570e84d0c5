// Live swarm with boxes behind home routers, in network namespaces (root only). The same swarm runs
// twice in one invocation:
//   routable: every box on the "internet" bridge with its own address;
//   nat:      ~75% of the boxes behind a home router each (nftables masquerade, nothing unsolicited
//             forwarded inwards; some routers run the real miniupnpd as IGD v2 / v1, the others
//             offer no IGD), the others as in the first run.
// Home uplinks (a routable box's own link, a router's WAN) are shaped with tc tbf at 1.5-3x the
// stream, the source's at 3x; the tracker sits on the bridge unshaped. Figures of a measured window
// after a warm-up come from every box's control socket.
//
//   node esbuild.config.mjs && npx tsx scripts/bench/nat-swarm.ts [--boxes 8] [--seconds 45]
//        [--warmup 25] [--nat-share 0.75] [--stream-kbps 800]
//
// Prints per run: continuity mean/min, source upload factor, share of chunk bytes uploaded by the
// boxes behind NAT, punch attempts/successes, reachability classes; writes bench-results/nat-swarm.json.
import type { ChildProcess } from 'node:child_process';
import { rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { addHomeRouter, homeRouterToolsPresent, startMiniupnpd, type Igd } from '../../test/support/home-router.js';
import { makeTestStream } from '../../test/support/media.js';
import { NetnsLab, netnsAvailable, removeStaleLabs } from '../../test/support/netns.js';
import { tempDir, type Proc } from '../../test/support/processes.js';
import { statusOf, until, windowFigures, type BoxFigures, type RunSummary, type Snapshot } from '../../test/support/shaped-swarm.js';
import { machineInfo, printTable, writeResult } from './lib/report.js';
import { arg } from './lib/bench-args.js';

const BOXES = Math.min(20, Math.max(2, Number(arg('boxes', '8'))));
const MEASURE_S = Number(arg('seconds', '45'));
const WARMUP_S = Number(arg('warmup', '25'));
const NAT_SHARE = Number(arg('nat-share', '0.75'));
const STREAM_KBPS = Number(arg('stream-kbps', '800'));
const SOURCE_FACTOR = 3;
const NET = '100.64.0';
const TRACKER = `${NET}.1:7000`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Home uplink of each box as a multiple of the stream: evenly from 3x down to 1.5x. */
const uplinks = Array.from({ length: BOXES }, (_, i) => Math.round((3 - (1.5 * i) / (BOXES - 1)) * 100) / 100);

type Placement = { kind: 'routable' } | { kind: 'nat'; upnp: Igd | undefined };

/**
 * Which boxes sit behind a router in the nat run: all but every 1/(1-share)-th box (spread over
 * the uplinks); every third router runs miniupnpd, alternately IGD v2 and v1.
 */
function natPlacement(): Placement[] {
  const routable = Math.max(0, Math.round(BOXES * (1 - NAT_SHARE)));
  const step = routable > 0 ? BOXES / routable : Infinity;
  const routableIdx = new Set(Array.from({ length: routable }, (_, k) => Math.floor(k * step)));
  let natCount = 0;
  let igdCount = 0;
  return uplinks.map((_, i): Placement => {
    if (routableIdx.has(i)) return { kind: 'routable' };
    const withIgd = natCount++ % 3 === 1;
    return { kind: 'nat', upnp: withIgd ? (igdCount++ % 2 === 0 ? 'v2' : 'v1') : undefined };
  });
}

interface Run {
  label: string;
  placement: string[];
  rows: Array<BoxFigures & { placement: string; reachability: string; punches: string; chunkKBOutTotal: number }>;
  summary: RunSummary & { natUploadShare: number | null; natClassUploadShare: number | null; punchAttempts: number; punchSucceeded: number; reversalsAsked: number; classes: Record<string, number> };
}

async function run(label: string, placement: Placement[], input: string, streamBps: number): Promise<Run> {
  const dir = tempDir(`sd-natswarm-${label}-`);
  const lab = new NetnsLab();
  const miniupnpds: ChildProcess[] = [];
  const kbit = (factor: number) => `${Math.round((factor * streamBps) / 1000)}kbit`;
  try {
    lab.addNamespace('inet');
    lab.addBridge('inet', 'br0', `${NET}.1/24`);
    lab.addNamespace('source');
    lab.link({ ns: 'source', dev: 'up0', cidr: `${NET}.3/24` }, { ns: 'inet', dev: 'src', bridge: 'br0' });
    lab.shape('source', 'up0', { rate: kbit(SOURCE_FACTOR), burst: '16kb', latency: '400ms' });
    const listen: string[] = [];
    placement.forEach((p, k) => {
      const i = k + 1;
      const wan = `${NET}.${20 + i}`;
      if (p.kind === 'nat') {
        addHomeRouter(lab, { i, wanCidr: `${wan}/24`, inetNs: 'inet', bridge: 'br0', port: `r${i}`, upnp: p.upnp, uplinkRate: kbit(uplinks[k]!), dir });
        listen.push(`192.168.${i}.2:7878`);
      } else {
        lab.addNamespace(`b${i}`);
        lab.link({ ns: `b${i}`, dev: 'up0', cidr: `${wan}/24` }, { ns: 'inet', dev: `h${i}`, bridge: 'br0' });
        lab.shape(`b${i}`, 'up0', { rate: kbit(uplinks[k]!), burst: '16kb', latency: '400ms' });
        listen.push(`${wan}:7878`);
      }
    });
    for (const [k, p] of placement.entries()) if (p.kind === 'nat' && p.upnp) miniupnpds.push(await startMiniupnpd(lab, dir, k + 1, p.upnp));

    const args = (a: string[]) => [...a, '--log-level', 'error'];
    const tracker = lab.start('tracker', 'inet', dir, args(['tracker', '--listen', TRACKER]));
    await until('tracker', 15_000, () => statusOf(tracker, 2000));
    const source = lab.start('source', 'source', dir, args(['publish', 'live', '--tracker', TRACKER, '--channel', 'natswarm', '--input', input, '--loop', '--listen', `${NET}.3:7001`]));
    await until('source publishing', 20_000, async () => ((await statusOf(source, 2000))?.contents[0]?.source?.chunks ? true : undefined));
    const boxes: Proc[] = [];
    for (const [k, l] of listen.entries()) {
      boxes.push(lab.start(`box${k + 1}`, `b${k + 1}`, dir, args(['node', '--tracker', TRACKER, '--listen', l, '--watch', 'natswarm', '--player', 'none'])));
      await sleep(200);
    }
    process.stderr.write(`nat-swarm: ${label}: ${BOXES} boxes started; ${WARMUP_S} s warm-up, ${MEASURE_S} s measured...\n`);
    await sleep(WARMUP_S * 1000);
    const snap = async (): Promise<Snapshot> => {
      const [b, s] = await Promise.all([Promise.all(boxes.map((p) => statusOf(p))), statusOf(source)]);
      return { boxes: b, source: s, at: Date.now() };
    };
    const first = await snap();
    await sleep(MEASURE_S * 1000);
    const last = await snap();
    last.boxes.forEach((s, k) => {
      if (!s) process.stderr.write(`box${k + 1} gave no status; its output:\n${boxes[k]?.output()}\n`);
    });
    const { rows, summary } = windowFigures(first, last, uplinks, streamBps);
    const place = placement.map((p) => (p.kind === 'routable' ? 'routable' : p.upnp ? `nat+igd${p.upnp === 'v1' ? '1' : '2'}` : 'nat'));
    const net = last.boxes.map((s) => s?.net);
    const out = rows.map((r) => r.chunkKBOut);
    const total = out.reduce((x, y) => x + y, 0);
    const natOut = out.filter((_, k) => placement[k]!.kind === 'nat').reduce((x, y) => x + y, 0);
    const natClassOut = out.filter((_, k) => net[k]?.reachability === 'nat').reduce((x, y) => x + y, 0);
    const classes: Record<string, number> = {};
    for (const n of net) classes[n?.reachability ?? 'no status'] = (classes[n?.reachability ?? 'no status'] ?? 0) + 1;
    const sum = (f: (n: NonNullable<(typeof net)[number]>) => number | undefined) => net.reduce((x, n) => x + (n ? f(n) ?? 0 : 0), 0);
    return {
      label,
      placement: place,
      rows: rows.map((r, k) => ({
        ...r,
        placement: place[k]!,
        reachability: net[k]?.reachability ?? '?',
        punches: `${net[k]?.punchSucceeded ?? 0}/${net[k]?.punchAttempts ?? 0}`,
        chunkKBOutTotal: Math.round((last.boxes[k]?.contents[0]?.chunkBytesOut ?? 0) / 1024),
      })),
      summary: {
        ...summary,
        natUploadShare: placement.some((p) => p.kind === 'nat') && total > 0 ? natOut / total : null,
        natClassUploadShare: placement.some((p) => p.kind === 'nat') && total > 0 ? natClassOut / total : null,
        punchAttempts: sum((n) => n.punchAttempts),
        punchSucceeded: sum((n) => n.punchSucceeded),
        reversalsAsked: sum((n) => n.reversalsAsked),
        classes,
      },
    };
  } finally {
    for (const m of miniupnpds) m.kill('SIGTERM');
    await lab.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (!netnsAvailable() || !homeRouterToolsPresent(true)) {
  console.error('nat-swarm needs root with ip, tc, nft, miniupnpd and upnpc (Debian: iproute2 nftables miniupnpd miniupnpc)');
  process.exit(2);
}
removeStaleLabs();
const mediaDir = tempDir('sd-natswarm-media-');
const STREAM_S = 60;
const input = makeTestStream({ seconds: STREAM_S, bitrateKbps: STREAM_KBPS, path: join(mediaDir, 'input.ts') });
const streamBps = (statSync(input).size * 8) / STREAM_S;
const runs: Run[] = [];
try {
  runs.push(await run('routable', uplinks.map(() => ({ kind: 'routable' })), input, streamBps));
  runs.push(await run('nat', natPlacement(), input, streamBps));
} finally {
  rmSync(mediaDir, { recursive: true, force: true });
}

const f = (v: number | null | undefined, d: number) => (v === null || v === undefined || !Number.isFinite(v) ? '-' : v.toFixed(d));
console.log(`\nlive swarm behind home routers: stream ${(streamBps / 1e6).toFixed(3)} Mbit/s measured, source uplink ${SOURCE_FACTOR}x, ${BOXES} boxes (uplinks 1.5-3x), ${MEASURE_S} s measured after ${WARMUP_S} s`);
for (const r of runs) {
  console.log(`\n${r.label}:`);
  printTable(
    r.rows.map((b) => ({
      box: b.box,
      placement: b.placement,
      reachability: b.reachability,
      'uplink x': f(b.uplinkFactor, 2),
      continuity: f(b.continuity, 3),
      due: b.chunksDue,
      'lag s': f(b.lagMs === null ? null : b.lagMs / 1000, 1),
      'KB in': b.chunkKBIn,
      'KB out': b.chunkKBOut,
      'uplink used %': f(b.uplinkUsed === null ? null : 100 * b.uplinkUsed, 0),
      timeouts: b.timeouts,
      'punches ok/tried': b.punches,
    })),
  );
  const s = r.summary;
  const rate = s.punchAttempts > 0 ? ` (${f((100 * s.punchSucceeded) / s.punchAttempts, 0)}%)` : '';
  console.log(
    `continuity mean ${f(s.continuityMean, 3)} min ${f(s.continuityMin, 3)}; source upload factor ${f(s.sourceUploadFactor, 2)}; ` +
      `chunk bytes uploaded by boxes behind NAT ${s.natUploadShare === null ? '-' : `${f(100 * s.natUploadShare, 0)}% (by the unmapped ones, reachability nat: ${f(100 * (s.natClassUploadShare ?? 0), 0)}%)`}; ` +
      `punches ${s.punchSucceeded}/${s.punchAttempts}${rate}; reversals asked ${s.reversalsAsked}; ` +
      `reachability ${Object.entries(s.classes).map(([k, v]) => `${k} ${v}`).join(', ')}; timeouts ${s.timeouts}; lag median ${f(s.lagMedianMs / 1000, 1)} s`,
  );
}
const [a, b] = runs;
if (a && b) {
  const ratio = b.summary.sourceUploadFactor / a.summary.sourceUploadFactor;
  const ok = ratio <= 1.2 && b.summary.continuityMin >= 0.99;
  console.log(`\nsource upload factor nat / routable: ${f(ratio, 2)} (target <= 1.2); nat continuity min ${f(b.summary.continuityMin, 3)} (target >= 0.99): ${ok ? 'met' : 'MISSED'}`);
}
writeResult('nat-swarm', { machine: machineInfo(), streamBps, sourceFactor: SOURCE_FACTOR, boxes: BOXES, natShare: NAT_SHARE, uplinks, measureS: MEASURE_S, warmupS: WARMUP_S, runs });
