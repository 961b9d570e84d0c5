// VoD benchmark (docs/downloads.md, "Watching while it downloads"): a film played on the TV while it
// downloads, superdist against WebTorrent, the same swarm over the same shaped links in one run (root
// only: network namespaces). One seed and N leechers, each in its own namespace on one bridge, every
// uplink shaped with tc tbf (a home uplink with its queue); downlinks unshaped.
//   superdist:  leechers are boxes (`superdist node`, headless mpv); `superdist play dl-…` on each.
//   WebTorrent: leechers are `webtorrent` clients streaming the torrent's file over their own HTTP
//               server (byte ranges, pieces a range needs first), played by the same mpv (same options).
// Leechers start `--stagger-ms` apart. Per leecher, measured over mpv's JSON IPC:
//   first frame: from the play request (superdist: the box's `play` control call, what `superdist play`
//     and the web remote send; WebTorrent: the client's start, torrent file in hand) to mpv's first
//     playback-restart;
//   stall ratio: time mpv spent paused for its cache during the `--watch-s` seconds after the first frame,
//     over those seconds.
//
//   node esbuild.config.mjs && npx tsx scripts/bench/vod.ts [--leechers 10] [--media-s 240]
//       [--media-kbps 2000] [--watch-s 60] [--seed-x 3] [--leecher-x 1.5] [--piece-kib auto]
//       [--stagger-ms 500] [--systems superdist,webtorrent] [--set download.key=value ...]
//       [--out vod]
//   (--set: configuration for the superdist boxes and seed, as `superdist --set`; --out: the result's name)
//   VOD_DEBUG=1 prints, for a viewer that started slowly or stalled for long, its box's state each
//   second until then; VOD_DEBUG=log also prints each box's range requests and startup log lines.
//
// Prints a table; writes bench-results/vod.json and vod.svg (or --out's name).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { controlCall } from '../../src/control/control-client.js';
import { MpvIpc } from '../../src/player/mpv-ipc.js';
import { choosePieceBytes } from '../../src/protocol/manifest.js';
import { makeTestStream } from '../../test/support/media.js';
import { NetnsLab, netnsAvailable } from '../../test/support/netns.js';
import { status, waitUp, type Proc } from '../../test/support/processes.js';
import { arg, NO_WEBRTC, WT_PEER, WT_TRACKER } from './lib/bench-args.js';
import { barChart } from './lib/plot.js';
import { machineInfo, printTable, writePlot, writeResult } from './lib/report.js';

const LEECHERS = Number(arg('leechers', '10'));
const MEDIA_S = Number(arg('media-s', '240'));
const MEDIA_KBPS = Number(arg('media-kbps', '2000'));
const WATCH_S = Number(arg('watch-s', '60'));
const SEED_X = Number(arg('seed-x', '3'));
const LEECHER_X = Number(arg('leecher-x', '1.5'));
const PIECE_KIB = arg('piece-kib', 'auto');
/** Both systems' piece size: --piece-kib, or what a superdist publisher picks for the film (auto). */
let PIECE_BYTES = 0;
const STAGGER_MS = Number(arg('stagger-ms', '500'));
const SYSTEMS = arg('systems', 'superdist,webtorrent').split(',') as System[];
const OUT = arg('out', 'vod');
const SETS = process.argv.flatMap((a, i) => (a === '--set' ? ['--set', process.argv[i + 1] as string] : []));
const FIRST_FRAME_TIMEOUT_MS = 60_000;
const NET = '10.81.0';
const MPV_ARGS = ['--idle=yes', '--no-input-terminal', '--msg-level=all=warn', '--vo=null', '--ao=null'];

type System = 'superdist' | 'webtorrent';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Viewer {
  /** ms from the play request to the first frame (null: none within the timeout). */
  firstFrameMs: number | null;
  stallMs: number;
  stalls: number;
  /** Each stall: seconds from the first frame to its start, and its length in seconds. */
  stallsAt: Array<[number, number]>;
  /** The box's own figures (superdist only): first frame and stall time from `status.vod`. */
  own?: { firstByteMs: number | null; firstFrameMs: number | null; stallMs: number; stalls: number; requestTimeouts: number; rejectsReceived: number };
}

/** Follows one mpv over IPC: first playback-restart after t0, then pauses for the cache for watchMs. */
async function watch(socket: string, t0: number): Promise<{ viewer: Viewer; ipc: MpvIpc | undefined }> {
  const viewer: Viewer = { firstFrameMs: null, stallMs: 0, stalls: 0, stallsAt: [] };
  while (!existsSync(socket)) {
    if (Date.now() - t0 > FIRST_FRAME_TIMEOUT_MS) return { viewer, ipc: undefined };
    await sleep(10);
  }
  let ipc: MpvIpc | undefined;
  while (!ipc) ipc = await MpvIpc.connect(socket).catch(async () => (await sleep(20), undefined));
  let firstAt: number | undefined;
  let stalledAt: number | undefined;
  ipc.on('playback-restart', () => (firstAt ??= Date.now()));
  ipc.on('property-change', (c) => {
    if (c.name !== 'paused-for-cache' || firstAt === undefined) return;
    if (c.value === true && stalledAt === undefined) {
      stalledAt = Date.now();
      viewer.stalls++;
    } else if (c.value !== true && stalledAt !== undefined) {
      viewer.stallMs += Date.now() - stalledAt;
      viewer.stallsAt.push([(stalledAt - firstAt) / 1000, (Date.now() - stalledAt) / 1000]);
      stalledAt = undefined;
    }
  });
  await ipc.observeProperty('paused-for-cache');
  // Connected after the first frame already came: the caller fills it from the box's own figure.
  const pt = await ipc.getProperty<number>('playback-time').catch(() => undefined);
  if (typeof pt === 'number' && firstAt === undefined) firstAt = -1;
  while (firstAt === undefined && Date.now() - t0 < FIRST_FRAME_TIMEOUT_MS) await sleep(10);
  if (firstAt === undefined) return { viewer, ipc };
  viewer.firstFrameMs = firstAt === -1 ? null : firstAt - t0;
  const end = (firstAt === -1 ? Date.now() : firstAt) + WATCH_S * 1000;
  while (Date.now() < end) await sleep(100);
  if (stalledAt !== undefined) viewer.stallMs += Date.now() - stalledAt;
  return { viewer, ipc };
}

/** A command inside a lab namespace, its stdout lines to `onLine`. */
/** VOD_DEBUG: a box's on-demand state each second until its viewer's first frame. */
function traceStart(b: Proc, id: string, t0: number): { lines: string[]; stop: () => void } {
  const lines: string[] = [];
  let on = true;
  void (async () => {
    while (on) {
      const st = await status(b).catch(() => undefined);
      const v = st?.vod;
      const dl = st?.contents.find((c) => c.id === id)?.download;
      if (on) lines.push(`  ${((Date.now() - t0) / 1000).toFixed(1)} s: ${v?.state} buffered ${v?.bufferedMs} waiting ${v?.waitingForPiece} served ${v?.bytesServed} reqs ${v?.requests}; window ${JSON.stringify(dl?.playback)} upload ${dl?.pieceBytesOut} pieces ${dl?.piecesVerified} sent ${dl?.requestsSent} timeouts ${dl?.requestTimeouts} rejects ${dl?.rejectsReceived} partners ${dl?.partners} suppliers ${JSON.stringify(dl?.suppliers?.map((s) => s.pieces))}`);
      await sleep(1000);
    }
  })();
  return { lines, stop: () => (on = false) };
}

function nsSpawn(lab: NetnsLab, ns: string, argv: string[], onLine?: (l: string) => void): ChildProcess {
  const child = spawn('ip', ['netns', 'exec', lab.ns(ns), ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
  if (onLine) createInterface({ input: child.stdout! }).on('line', onLine);
  else child.stdout!.resume();
  child.stderr!.resume();
  return child;
}

function lineFrom(child: ChildProcess, match: RegExp, what: string, ms = 60_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
    createInterface({ input: child.stdout! }).on('line', (l) => {
      if (match.test(l)) {
        clearTimeout(t);
        resolve(l);
      }
    });
    child.once('exit', (code) => reject(new Error(`${what}: process exited (${code})`)));
  });
}

function buildLab(lab: NetnsLab): void {
  lab.addNamespace('inet');
  lab.addBridge('inet', 'br0');
  const attach = (ns: string, host: number, factor: number | undefined) => {
    lab.addNamespace(ns);
    lab.link({ ns, dev: 'up0', cidr: `${NET}.${host}/24` }, { ns: 'inet', dev: `v${host}`, bridge: 'br0' });
    if (factor !== undefined) lab.shape(ns, 'up0', { rate: `${Math.round(factor * MEDIA_KBPS)}kbit`, burst: '32kb', latency: '400ms' });
  };
  attach('tracker', 2, undefined);
  attach('seed', 3, SEED_X);
  for (let i = 0; i < LEECHERS; i++) attach(`l${i}`, 10 + i, LEECHER_X);
}

async function runSuperdist(lab: NetnsLab, dir: string, film: string): Promise<Viewer[]> {
  const tracker = lab.start('tracker', 'tracker', dir, ['tracker', '--listen', `${NET}.2:7000`, '--log-level', 'error']);
  await waitUp(tracker, 15_000, 'tracker');
  const t = `${NET}.2:7000`;
  const seed = lab.start('seed', 'seed', dir, ['publish', 'file', '--tracker', t, '--input', film, '--listen', `${NET}.3:7001`, '--piece-bytes', String(PIECE_BYTES), '--log-level', 'error', ...SETS]);
  let id: string | undefined;
  for (const deadline = Date.now() + 60_000; !id && Date.now() < deadline; await sleep(100)) id = seed.output().split('\n').find((l) => /^dl-[0-9a-f]{64}$/.test(l));
  if (!id) throw new Error(`the seed printed no content id: ${seed.output().slice(-500)}`);
  const boxes: Proc[] = [];
  for (let i = 0; i < LEECHERS; i++) {
    const sock = join(dir, `mpv-${i}.sock`);
    boxes.push(lab.start(`l${i}`, `l${i}`, dir, ['node', '--tracker', t, '--listen', `${NET}.${10 + i}:7002`, '--log-level', process.env.VOD_DEBUG === 'log' ? 'debug' : 'error', '--set', 'player.output="headless"', '--set', `player.ipcSocket="${sock}"`, ...SETS]));
  }
  await Promise.all(boxes.map((b, i) => waitUp(b, 20_000, `leecher ${i}`)));
  const usage = process.env.VOD_DEBUG ? uploadUse([seed, ...boxes], id, [SEED_X, ...boxes.map(() => LEECHER_X)]) : undefined;
  const watches = boxes.map(async (b, i) => {
    await sleep(i * STAGGER_MS);
    const t0 = Date.now();
    // What `superdist play dl-…` and the web remote's "Play on TV" send to the box.
    const played = controlCall(b.control, 'play', { channel: id }, 20_000).catch((err: Error) => console.error(`leecher ${i}: play failed: ${err.message}`));
    const trace = process.env.VOD_DEBUG ? traceStart(b, id!, t0) : undefined;
    const { viewer, ipc } = await watch(join(dir, `mpv-${i}.sock`), t0);
    trace?.stop();
    await played;
    const st = await status(b);
    const vod = st?.vod;
    const dl = st?.contents.find((c) => c.id === id)?.download;
    if (vod) viewer.own = { firstByteMs: vod.firstByteMs, firstFrameMs: vod.firstFrameMs, stallMs: vod.stallMs, stalls: vod.stalls, requestTimeouts: dl?.requestTimeouts ?? 0, rejectsReceived: dl?.rejectsReceived ?? 0 };
    viewer.firstFrameMs ??= vod?.firstFrameMs ?? null;
    if (viewer.firstFrameMs === null && process.env.VOD_DEBUG) console.log(`leecher ${i} never played: ${JSON.stringify({ vod, dl })}`);
    if (process.env.VOD_DEBUG === 'log') console.log(`leecher ${i}:\n${b.output().split('\n').filter((l) => /range request|first (byte|frame)|play|manifest in hand/.test(l)).slice(0, 30).join('\n')}`);
    if (trace && (viewer.firstFrameMs === null || viewer.firstFrameMs > 6000 || (viewer.stallMs ?? 0) > 3000)) console.log(`leecher ${i} first frame ${viewer.firstFrameMs} ms; until then:\n${trace.lines.slice(0, 45).join('\n')}`);
    ipc?.close();
    return viewer;
  });
  const viewers = await Promise.all(watches);
  if (usage) console.log(await usage());
  return viewers;
}

/** VOD_DEBUG: each box's piece upload from now until the call, against its uplink (boxes[0]: the seed). */
function uploadUse(boxes: Proc[], id: string, factors: number[]): () => Promise<string> {
  const t0 = Date.now();
  const out = async () => Promise.all(boxes.map(async (b) => (await status(b).catch(() => undefined))?.contents.find((c) => c.id === id)?.download?.pieceBytesOut ?? 0));
  const before = out();
  return async () => {
    const [a, z] = [await before, await out()];
    const s = (Date.now() - t0) / 1000;
    return `piece upload over ${s.toFixed(0)} s, % of each uplink (seed first): ${z.map((v, i) => ((100 * 8 * (v - a[i]!)) / s / (factors[i]! * MEDIA_KBPS * 1000)).toFixed(0)).join(' ')}`;
  };
}

async function runWebTorrent(lab: NetnsLab, dir: string, film: string, children: ChildProcess[]): Promise<Viewer[]> {
  const node = [process.execPath, '--import', NO_WEBRTC];
  const tracker = nsSpawn(lab, 'tracker', [...node, WT_TRACKER, `${NET}.2`, '7000']);
  children.push(tracker);
  const announce = (await lineFrom(tracker, /^http:/, 'the WebTorrent tracker')).trim();
  const torrent = join(dir, 'film.torrent');
  const seed = nsSpawn(lab, 'seed', [...node, WT_PEER, 'seed', film, announce, torrent, String(PIECE_BYTES)]);
  children.push(seed);
  await lineFrom(seed, /^ready$/, 'the WebTorrent seed', 120_000);
  const watches = Array.from({ length: LEECHERS }, async (_, i) => {
    await sleep(i * STAGGER_MS);
    const t0 = Date.now();
    const peer = nsSpawn(lab, `l${i}`, [...node, WT_PEER, 'stream', torrent, join(dir, `wt-${i}`), '8888']);
    children.push(peer);
    const url = (await lineFrom(peer, /^url /, `leecher ${i}'s stream`)).slice(4);
    const sock = join(dir, `wt-mpv-${i}.sock`);
    children.push(nsSpawn(lab, `l${i}`, ['mpv', ...MPV_ARGS, `--input-ipc-server=${sock}`, url]));
    const { viewer, ipc } = await watch(sock, t0);
    ipc?.close();
    return viewer;
  });
  return Promise.all(watches);
}

function percentile(xs: number[], p: number): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] as number;
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0 || !netnsAvailable()) {
    console.error('vod bench: needs root and network namespaces (ip netns)');
    process.exit(2);
  }
  if (spawnSync('mpv', ['--version']).status !== 0) {
    console.error('vod bench: mpv is not installed');
    process.exit(2);
  }
  const dir = mkdtempSync(join(tmpdir(), 'sd-vod-bench-'));
  const film = makeTestStream({ seconds: MEDIA_S, bitrateKbps: MEDIA_KBPS, path: join(dir, 'film.ts') });
  const chosen = PIECE_KIB === 'auto' ? choosePieceBytes(statSync(film).size) : Number(PIECE_KIB) * 1024;
  if (typeof chosen === 'string') throw new Error(chosen);
  PIECE_BYTES = chosen;
  console.log(`vod bench: ${LEECHERS} leechers, film ${MEDIA_S} s at ${MEDIA_KBPS} kbit/s, seed uplink ${SEED_X}x, leecher uplinks ${LEECHER_X}x, ${PIECE_BYTES / 1024} KiB pieces, ${STAGGER_MS} ms apart, ${WATCH_S} s watched`);
  const results: Record<string, Viewer[]> = {};
  for (const system of SYSTEMS) {
    const lab = new NetnsLab();
    const children: ChildProcess[] = [];
    const sysDir = mkdtempSync(join(dir, `${system}-`));
    try {
      buildLab(lab);
      console.log(`running ${system}...`);
      results[system] = system === 'superdist' ? await runSuperdist(lab, sysDir, film) : await runWebTorrent(lab, sysDir, film, children);
    } finally {
      for (const c of children) c.kill('SIGKILL');
      await lab.cleanup();
    }
  }
  const rows = SYSTEMS.map((system) => {
    const vs = results[system] ?? [];
    const ff = vs.flatMap((v) => (v.firstFrameMs === null ? [] : [v.firstFrameMs / 1000]));
    const ratios = vs.filter((v) => v.firstFrameMs !== null).map((v) => v.stallMs / 1000 / WATCH_S);
    return {
      system,
      leechers: vs.length,
      'no first frame': vs.length - ff.length,
      'first frame p50 s': percentile(ff, 50),
      'first frame p95 s': percentile(ff, 95),
      'first frame max s': ff.length ? Math.max(...ff) : null,
      'stall ratio mean': ratios.length ? ratios.reduce((a, b) => a + b, 0) / ratios.length : null,
      'stall ratio max': ratios.length ? Math.max(...ratios) : null,
      stalls: vs.reduce((a, v) => a + v.stalls, 0),
    };
  });
  const f = (x: number | null, d = 2) => (x === null ? '-' : x.toFixed(d));
  printTable(rows.map((r) => ({ ...r, 'first frame p50 s': f(r['first frame p50 s']), 'first frame p95 s': f(r['first frame p95 s']), 'first frame max s': f(r['first frame max s']), 'stall ratio mean': f(r['stall ratio mean'] === null ? null : 100 * r['stall ratio mean'], 2) + ' %', 'stall ratio max': f(r['stall ratio max'] === null ? null : 100 * r['stall ratio max'], 2) + ' %' })));
  for (const [system, vs] of Object.entries(results)) {
    console.log(`${system} stalls (s after the first frame, +length): ${vs.map((v, i) => `#${i} ${v.stallsAt.map(([a, d]) => `${a.toFixed(1)}+${d.toFixed(1)}`).join(' ') || '-'}`).join('; ')}`);
  }
  const sd = rows.find((r) => r.system === 'superdist');
  const wt = rows.find((r) => r.system === 'webtorrent');
  if (sd && wt && sd['first frame p50 s'] !== null && wt['first frame p50 s'] !== null) {
    console.log(`first frame p50: superdist ${f(sd['first frame p50 s'])} s = ${f(sd['first frame p50 s'] / wt['first frame p50 s'])}x WebTorrent's ${f(wt['first frame p50 s'])} s (targets: <= 2 s and <= 0.7x; stall ratio <= 1 %)`);
  }
  writeResult(OUT, { machine: machineInfo(), params: { LEECHERS, MEDIA_S, MEDIA_KBPS, WATCH_S, SEED_X, LEECHER_X, PIECE_BYTES, STAGGER_MS, sets: SETS }, rows, viewers: results });
  writePlot(OUT, barChart({ title: `play while downloading: first frame p50, 1 seed + ${LEECHERS} leechers on shaped uplinks`, unit: 's', bars: rows.map((r) => ({ label: `${r.system} (stalls ${f(r['stall ratio mean'] === null ? null : 100 * r['stall ratio mean'], 1)} %)`, value: r['first frame p50 s'] ?? 0 })) }));
  rmSync(dir, { recursive: true, force: true });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
