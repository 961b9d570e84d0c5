// Shared uplink of a local segment, in network namespaces (root; see test/support/segment-scenario.ts):
// k = 1, 2, 3 main nodes (uplinks shaped to 1.5 × a 1 Mbit/s stream) relay a channel to 4 local nodes
// on a 2 Mbit/s "PAN" segment. Per k: each main node's uplink download ÷ the stream over the measured
// window, their sum, requests fetched outside a node's share (deadline fallback), and the local nodes'
// continuity. For k = 2 it then takes main2's uplink interface down and reports how long main1 takes
// to take the whole uplink, and the local continuity across the loss.
//
//   npx tsx scripts/bench/segment.ts [--ks 1,2,3] [--seconds 30] [--warmup 15]
//
// Prints a table; writes bench-results/segment.json.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { makeTestStream } from '../../test/support/media.js';
import { netnsAvailable, removeStaleLabs } from '../../test/support/netns.js';
import { tempDir } from '../../test/support/processes.js';
import { SegmentScenario, type MainFigures } from '../../test/support/segment-scenario.js';
import { machineInfo, printTable, writeResult } from './lib/report.js';
import { arg } from './lib/bench-args.js';

const KS = arg('ks', '1,2,3').split(',').map(Number);
const MEASURE_S = Number(arg('seconds', '30'));
const LOSS_S = 20;
const WARMUP_S = Number(arg('warmup', '15'));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

if (!netnsAvailable()) {
  process.stderr.write('segment benchmark: needs root, ip and tc (network namespaces)\n');
  process.exit(2);
}
removeStaleLabs();

interface LocalSample {
  due: number;
  onTime: number;
}

async function localSamples(sc: SegmentScenario): Promise<LocalSample[]> {
  return (await sc.localStatuses()).map((s) => {
    const c = s?.contents.find((x) => x.kind === 'live');
    return { due: c?.chunksDue ?? 0, onTime: c?.chunksOnTime ?? 0 };
  });
}

function windowContinuity(a: LocalSample[], b: LocalSample[]): number[] {
  return b.map((x, i) => {
    const due = x.due - (a[i]?.due ?? 0);
    return due > 0 ? (x.onTime - (a[i]?.onTime ?? 0)) / due : 0;
  });
}

const dir = tempDir('sd-bench-seg-');
const input = makeTestStream({ seconds: 60, bitrateKbps: 1000, path: join(dir, 'input.ts') });
const rows: Record<string, string | number>[] = [];
const results: unknown[] = [];

for (const k of KS) {
  process.stderr.write(`segment: k = ${k} main node(s), 4 local nodes, ${MEASURE_S} s measured...\n`);
  const sc = new SegmentScenario({ mains: k, locals: 4, remotes: 2, uplinkRate: '1500kbit', localRate: '2mbit', channel: 'bench', input, dir: join(dir, `k${k}`), loop: true });
  try {
    sc.buildNetwork();
    await sc.startUplink();
    await sc.startMain(1);
    await sleep(2500);
    for (let i = 2; i <= k; i++) await sc.startMain(i);
    for (let j = 1; j <= 4; j++) await sc.startLocal(j, false);
    await sc.waitLocalsPlaying(40_000);
    const agreeMs = await sc.waitShares(k === 1 ? ['all'] : Array.from({ length: k }, (_, i) => `${i}/${k}`), 20_000);
    await sleep(WARMUP_S * 1000); // main nodes catch up with the live edge first
    const m0 = await sc.mainFigures();
    const l0 = await localSamples(sc);
    const s0 = await sc.streamBytes();
    await sleep(MEASURE_S * 1000);
    const m1 = await sc.mainFigures();
    const l1 = await localSamples(sc);
    const s1 = await sc.streamBytes();
    const stream = s1 - s0;
    const ratio = (a: MainFigures | undefined, b: MainFigures | undefined) => (a && b ? (b.bytesIn - a.bytesIn) / stream : NaN);
    const perMain = m1.map((b, i) => ratio(m0[i], b));
    const cont = windowContinuity(l0, l1);
    const row: Record<string, string | number> = {
      k,
      'uplink/stream per main': perMain.map((r) => r.toFixed(3)).join(' '),
      'sum': perMain.reduce((x, y) => x + y, 0).toFixed(3),
      'chunk bytes/stream per main': m1.map((b, i) => (b && m0[i] ? ((b.chunkBytesIn - (m0[i]?.chunkBytesIn ?? 0)) / stream).toFixed(3) : '-')).join(' '),
      'fallback reqs': m1.map((b, i) => (b?.fallback ?? 0) - (m0[i]?.fallback ?? 0)).join(' '),
      'local continuity mean': (cont.reduce((x, y) => x + y, 0) / cont.length).toFixed(4),
      'local continuity min': Math.min(...cont).toFixed(4),
      'agree ms': agreeMs,
    };
    const result: Record<string, unknown> = { k, streamBytes: stream, perMain, localContinuity: cont, agreeMs, mains: m1 };
    if (k === 2) {
      // main2 loses its uplink: main1 must take the whole uplink.
      const lossAt = Date.now();
      sc.setUplink(2, false);
      const takeMs = await sc.waitShares(['all', 'none'], 15_000).then(() => Date.now() - lossAt, () => NaN);
      const la = await localSamples(sc);
      const a = await sc.mainFigures();
      const sa = await sc.streamBytes();
      await sleep(LOSS_S * 1000);
      const lb = await localSamples(sc);
      const b = await sc.mainFigures();
      const sb = await sc.streamBytes();
      const lossCont = windowContinuity(la, lb);
      row['uplink loss: takeover ms'] = takeMs;
      row['after loss uplink/stream'] = b.map((x, i) => (x && a[i] ? ((x.bytesIn - (a[i]?.bytesIn ?? 0)) / (sb - sa)).toFixed(3) : '-')).join(' ');
      row['after loss local continuity min'] = Math.min(...lossCont).toFixed(4);
      result.uplinkLoss = { takeoverMs: takeMs, localContinuity: lossCont, mains: b };
    }
    rows.push(row);
    results.push(result);
  } finally {
    await sc.cleanup();
  }
}
rmSync(dir, { recursive: true, force: true });
printTable(rows);
console.log(`wrote ${writeResult('segment', { machine: machineInfo(), measuredSeconds: MEASURE_S, streamKbps: 1000, uplinkKbps: 1500, localKbps: 2000, results })}`);
