// Download benchmark: 1 seed + N leechers of one random file over loopback, superdist against
// WebTorrent (npm `webtorrent` peers with a `bittorrent-tracker` server), alternating rounds on the
// same machine. Every peer is its own process; superdist runs from the bundle (dist/superdist.cjs),
// WebTorrent from node_modules (TCP only: no DHT, LSD, uTP, WebRTC). Both use 256 KiB pieces.
// Measured per round, from the moment the leechers are spawned (seed already hashed and seeding):
//   time until every leecher holds a verified copy; CPU seconds (user + system) and peak RSS of all
//   the swarm's processes (tracker, seed, leechers), read from /proc just before they are stopped.
// Every copy's SHA-256 is checked against the source after the round (outside the timing).
//
//   node esbuild.config.mjs && npx tsx scripts/bench/download-vs-webtorrent.ts [--size-mb 200]
//       [--leechers 10] [--rounds 3] [--timeout-s 300]
//
// Prints a table; writes bench-results/download-vs-webtorrent.json and .svg.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, createReadStream, existsSync, mkdirSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { controlCall } from '../../src/control/control-client.js';
import type { Status } from '../../src/control/status.js';
import { arg, NO_WEBRTC, WT_PEER, WT_TRACKER } from './lib/bench-args.js';
import { barChart } from './lib/plot.js';
import { procUsage } from './lib/proc-usage.js';
import { machineInfo, printTable, writePlot, writeResult } from './lib/report.js';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const BUNDLE = here('../../dist/superdist.cjs');
const SIZE_BYTES = Math.round(Number(arg('size-mb', '200')) * 1e6);
const LEECHERS = Number(arg('leechers', '10'));
const ROUNDS = Number(arg('rounds', '3'));
const TIMEOUT_MS = Number(arg('timeout-s', '300')) * 1000;
const PIECE_BYTES = 256 * 1024;

type System = 'superdist' | 'webtorrent';

interface Round {
  system: System;
  round: number;
  /** Seconds until every leecher held a verified copy; null when the round timed out. */
  allCompleteS: number | null;
  firstCompleteS: number | null;
  completed: number;
  copiesVerified: number;
  cpuS: number;
  maxPeakRssMiB: number;
  sumPeakRssMiB: number;
  /** 1-minute load average when the round started (other work on the machine shows here). */
  loadAtStart: number;
  miss: string;
}

interface Proc {
  child: ChildProcess;
  lines: string[];
  waiters: Array<(line: string) => boolean>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function run(args: string[]): Proc {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'ignore'] });
  const p: Proc = { child, lines: [], waiters: [] };
  createInterface({ input: child.stdout! }).on('line', (line) => {
    p.lines.push(line);
    p.waiters = p.waiters.filter((w) => !w(line));
  });
  return p;
}

/** The first stdout line (past or future) that `match` accepts. */
function lineOf(p: Proc, match: (line: string) => boolean, what: string, timeoutMs = 60_000): Promise<string> {
  const seen = p.lines.find(match);
  if (seen !== undefined) return Promise.resolve(seen);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), timeoutMs);
    p.child.once('exit', (code) => reject(new Error(`${what}: process exited with ${code}`)));
    p.waiters.push((line) => {
      if (!match(line)) return false;
      clearTimeout(timer);
      resolve(line);
      return true;
    });
  });
}

async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

function makeFile(path: string, size: number): void {
  const fd = openSync(path, 'w');
  const block = 4 * 1024 * 1024;
  for (let done = 0; done < size; done += block) writeSync(fd, randomBytes(Math.min(block, size - done)));
  closeSync(fd);
}

async function stopAll(procs: Proc[]): Promise<void> {
  for (const p of procs) p.child.kill('SIGKILL');
  await Promise.all(procs.map((p) => (p.child.exitCode !== null || p.child.signalCode !== null ? undefined : new Promise((r) => p.child.once('exit', r)))));
}

/** Spawns the leechers, waits for all (or the timeout), measures, stops everything. */
async function race(system: System, round: number, procs: Proc[], spawnLeecher: (i: number) => Proc, isDone: (line: string) => boolean, outputs: string[], sourceSha: string): Promise<Round> {
  const loadAtStart = loadavg()[0] as number;
  const t0 = performance.now();
  const doneAt: (number | null)[] = new Array(LEECHERS).fill(null);
  const leechers = Array.from({ length: LEECHERS }, (_, i) => {
    const p = spawnLeecher(i);
    lineOf(p, isDone, `leecher ${i} done`, TIMEOUT_MS).then(
      () => (doneAt[i] = (performance.now() - t0) / 1000),
      () => undefined,
    );
    return p;
  });
  procs.push(...leechers);
  while (doneAt.some((d) => d === null) && performance.now() - t0 < TIMEOUT_MS) await sleep(50);
  const usage = procs.map((p) => (p.child.pid ? procUsage(p.child.pid) : undefined));
  await stopAll(procs);
  const finished = doneAt.filter((d): d is number => d !== null);
  let copiesVerified = 0;
  for (const out of outputs) if (existsSync(out) && (await sha256File(out)) === sourceSha) copiesVerified++;
  const all = finished.length === LEECHERS ? Math.max(...finished) : null;
  const miss = all === null ? `${finished.length} of ${LEECHERS} complete after ${TIMEOUT_MS / 1000} s` : copiesVerified < LEECHERS ? `${LEECHERS - copiesVerified} copies differ from the source` : '';
  return {
    system,
    round,
    allCompleteS: all,
    firstCompleteS: finished.length ? Math.min(...finished) : null,
    completed: finished.length,
    copiesVerified,
    cpuS: usage.reduce((s, u) => s + (u?.cpuS ?? 0), 0),
    maxPeakRssMiB: Math.max(...usage.map((u) => u?.peakRssBytes ?? 0)) / 2 ** 20,
    sumPeakRssMiB: usage.reduce((s, u) => s + (u?.peakRssBytes ?? 0), 0) / 2 ** 20,
    loadAtStart,
    miss,
  };
}

async function superdistRound(round: number, dir: string, file: string, sha: string): Promise<Round> {
  const sd = (name: string, args: string[]) => run([BUNDLE, ...args, '--control', join(dir, `${name}.sock`), '--state-dir', join(dir, name), '--log-level', 'error']);
  const procs: Proc[] = [];
  try {
    const tracker = sd('tracker', ['tracker', '--listen', '127.0.0.1:0']);
    procs.push(tracker);
    let status: Status | undefined;
    for (let i = 0; i < 200 && !status; i++) {
      status = (await controlCall(join(dir, 'tracker.sock'), 'status', {}, 2000).catch(() => undefined)) as Status | undefined;
      if (!status) await sleep(50);
    }
    if (!status) throw new Error('superdist tracker did not start');
    const trackerAddr = status.node.contact;
    const seed = sd('seed', ['publish', 'file', '--tracker', trackerAddr, '--input', file, '--listen', '127.0.0.1:0']);
    procs.push(seed);
    const id = await lineOf(seed, (l) => /^dl-[0-9a-f]{64}$/.test(l), 'superdist content id');
    const outputs = Array.from({ length: LEECHERS }, (_, i) => join(dir, `leecher${i}.bin`));
    return await race(
      'superdist',
      round,
      procs,
      (i) => sd(`leecher${i}`, ['get', id, '-o', outputs[i] as string, '--json', '--tracker', trackerAddr, '--listen', '127.0.0.1:0']),
      (l) => l.startsWith('{"event":"complete"'),
      outputs,
      sha,
    );
  } finally {
    await stopAll(procs);
  }
}

async function webtorrentRound(round: number, dir: string, file: string, sha: string): Promise<Round> {
  const wt = (script: string, args: string[]) => run(['--import', NO_WEBRTC, script, ...args]);
  const procs: Proc[] = [];
  try {
    const tracker = wt(WT_TRACKER, []);
    procs.push(tracker);
    const announce = await lineOf(tracker, (l) => l.startsWith('http://'), 'WebTorrent tracker');
    const torrent = join(dir, 'bench.torrent');
    const seed = wt(WT_PEER, ['seed', file, announce, torrent, String(PIECE_BYTES)]);
    procs.push(seed);
    await lineOf(seed, (l) => l === 'ready', 'WebTorrent seed', 120_000);
    const outputs = Array.from({ length: LEECHERS }, (_, i) => join(dir, `leecher${i}`, basename(file)));
    return await race('webtorrent', round, procs, (i) => wt(WT_PEER, ['get', torrent, join(dir, `leecher${i}`)]), (l) => l === 'done', outputs, sha);
  } finally {
    await stopAll(procs);
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
const fmt = (v: number | null, d = 2) => (v === null || !Number.isFinite(v) ? '-' : v.toFixed(d));

if (!existsSync(BUNDLE)) throw new Error(`${BUNDLE} is missing: run node esbuild.config.mjs first`);
const work = mkdtempSync(join(tmpdir(), 'sd-dl-bench-'));
const source = join(work, 'bench-source.bin');
makeFile(source, SIZE_BYTES);
const sourceSha = await sha256File(source);
const rounds: Round[] = [];
try {
  for (let r = 1; r <= ROUNDS; r++) {
    for (const system of ['superdist', 'webtorrent'] as const) {
      const dir = join(work, `${system}-${r}`);
      mkdirSync(dir);
      process.stderr.write(`download bench: round ${r}/${ROUNDS} ${system} (1 seed + ${LEECHERS} leechers, ${SIZE_BYTES} bytes)...\n`);
      const res = system === 'superdist' ? await superdistRound(r, dir, source, sourceSha) : await webtorrentRound(r, dir, source, sourceSha);
      rounds.push(res);
      process.stderr.write(`  all complete ${fmt(res.allCompleteS)} s, CPU ${fmt(res.cpuS, 1)} s, peak RSS ${fmt(res.maxPeakRssMiB, 0)} MiB, load ${fmt(res.loadAtStart, 1)} ${res.miss}\n`);
      rmSync(dir, { recursive: true, force: true });
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

const summary = (['superdist', 'webtorrent'] as const).map((system) => {
  const rs = rounds.filter((r) => r.system === system);
  const ok = rs.filter((r) => r.allCompleteS !== null && r.copiesVerified === LEECHERS);
  return {
    system,
    rounds: rs.length,
    roundsComplete: ok.length,
    medianAllCompleteS: median(ok.map((r) => r.allCompleteS as number)),
    medianCpuS: median(rs.map((r) => r.cpuS)),
    medianMaxPeakRssMiB: median(rs.map((r) => r.maxPeakRssMiB)),
    medianSumPeakRssMiB: median(rs.map((r) => r.sumPeakRssMiB)),
  };
});
const [sdSum, wtSum] = summary as [(typeof summary)[0], (typeof summary)[0]];
const ratio = sdSum.medianAllCompleteS / wtSum.medianAllCompleteS;
console.log(`\ndownload over loopback: 1 seed + ${LEECHERS} leechers, ${(SIZE_BYTES / 1e6).toFixed(0)} MB random file, ${PIECE_BYTES / 1024} KiB pieces, alternating rounds`);
printTable(
  rounds.map((r) => ({
    round: r.round,
    system: r.system,
    'all complete s': fmt(r.allCompleteS),
    'first complete s': fmt(r.firstCompleteS),
    'copies ok': `${r.copiesVerified}/${LEECHERS}`,
    'CPU s (all procs)': fmt(r.cpuS, 1),
    'peak RSS MiB (max proc)': fmt(r.maxPeakRssMiB, 0),
    'peak RSS MiB (sum)': fmt(r.sumPeakRssMiB, 0),
    'load at start': fmt(r.loadAtStart, 1),
    miss: r.miss || '-',
  })),
);
console.log('');
printTable(
  summary.map((s) => ({
    system: s.system,
    'rounds complete': `${s.roundsComplete}/${s.rounds}`,
    'median all complete s': fmt(s.medianAllCompleteS),
    'median CPU s': fmt(s.medianCpuS, 1),
    'median peak RSS MiB (max proc)': fmt(s.medianMaxPeakRssMiB, 0),
    'median peak RSS MiB (sum)': fmt(s.medianSumPeakRssMiB, 0),
  })),
);
const verdict = Number.isFinite(ratio) ? (ratio <= 0.8 ? 'met' : 'MISSED') : 'not measured';
console.log(`\nsuperdist / WebTorrent time ratio: ${fmt(ratio, 3)} (target <= 0.8: ${verdict})`);
writeResult('download-vs-webtorrent', { machine: machineInfo(), sizeBytes: SIZE_BYTES, leechers: LEECHERS, pieceBytes: PIECE_BYTES, rounds, summary, ratio, target: 0.8, verdict });
writePlot(
  'download-vs-webtorrent',
  barChart({
    title: `1 seed + ${LEECHERS} leechers, ${(SIZE_BYTES / 1e6).toFixed(0)} MB over loopback: median time until all complete`,
    unit: 's',
    bars: summary.map((s) => ({ label: `${s.system} (CPU ${fmt(s.medianCpuS, 0)} s)`, value: Number.isFinite(s.medianAllCompleteS) ? s.medianAllCompleteS : 0 })),
  }),
);
