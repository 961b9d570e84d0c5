// Many phones watching one box (docs/phones.md): a tracker, a `publish live` source (ffmpeg H.264/AAC,
// looped) and a TV box that plays the channel on headless mpv and serves its web page. Once the TV
// plays, N simulated phones (each its own browser session) watch the channel over the box's HLS at
// real time, as hls.js does: reload the playlist every target duration, fetch each new segment once,
// starting three segments from the live edge. S more "phones" request segments and never read them
// (each pipelines 20 requests on one connection and pauses its socket).
//
// Measured over the phones' window (after --warmup s of playback, once the box's buffers are full), on the TV box's process: CPU ((utime + stime) / wall, 100 % = one
// core), RSS (VmRSS every second: growth = peak and end minus the value just before the phones),
// the TV's continuity (engine chunks on time ÷ due, and the player output's discontinuities and mpv
// stalls added in the window), and on the phones' side the segment latency (request → last byte)
// p50/p95/max, playlist latency p95, segments per phone per second and any refusal. Targets: TV
// continuity 1.0, RSS growth ≤ 10 MB, segment p95 ≤ 100 ms. Needs the bundle (`node esbuild.config.mjs`),
// ffmpeg and mpv. The TV box runs with the node flags and Environment= settings of
// systemd/superdist.service (as the appliance runs it; --no-unit-env: neither).
//
//   npx tsx scripts/bench/phones.ts [--phones 50] [--slow 5] [--seconds 60] [--warmup 45] [--kbps 2000] [--no-unit-env]
//
// Prints a table; writes bench-results/phones.json.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { controlCall } from '../../src/control/control-client.js';
import type { Status } from '../../src/control/status.js';
import { makeTestStream } from '../../test/support/media.js';
import { machineInfo, printTable, writeResult } from './lib/report.js';
import { arg } from './lib/bench-args.js';

const BUNDLE = fileURLToPath(new URL('../../dist/superdist.cjs', import.meta.url));
const PHONES = Number(arg('phones', '50'));
const SLOW = Number(arg('slow', '5'));
const SECONDS = Number(arg('seconds', '60'));
// The TV box's chunk window (40 chunks) and its player ring (30 s) fill in the first ~45 s of
// playback: measured before they are full, their own growth would be counted against the phones.
const WARMUP_S = Number(arg('warmup', '45'));
const KBPS = Number(arg('kbps', '2000'));
const USER_HZ = 100;
const UNIT = readFileSync(fileURLToPath(new URL('../../systemd/superdist.service', import.meta.url)), 'utf8');
const USE_UNIT = !process.argv.includes('--no-unit-env');
/** Node flags between node and the bundle in the unit's ExecStart= (e.g. --lite-mode). */
const UNIT_NODE_FLAGS = USE_UNIT ? (/^ExecStart=\S*node((?:\s+-\S+)*)\s+\S*superdist\.cjs\b/m.exec(UNIT)?.[1] ?? '').split(/\s+/).filter(Boolean) : [];
/** The unit's Environment= settings (malloc tuning, NODE_ENV). */
const UNIT_ENV: Record<string, string> = USE_UNIT
  ? Object.fromEntries([...UNIT.matchAll(/^Environment=(.+)$/gm)].flatMap((m) => m[1]!.split(/\s+/).map((kv) => kv.split('=', 2) as [string, string])))
  : {};

interface Proc {
  name: string;
  child: ChildProcess;
  control: string;
  out: () => string;
}

const procs: Proc[] = [];
const dir = mkdtempSync(join(tmpdir(), 'sd-bench-phones-'));

function start(name: string, args: string[], asUnit = false): Proc {
  const control = join(dir, `${name}.sock`);
  const child = spawn(process.execPath, [...(asUnit ? UNIT_NODE_FLAGS : []), BUNDLE, ...args, '--control', control, '--state-dir', join(dir, name)], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: asUnit ? { ...process.env, ...UNIT_ENV } : process.env,
  });
  let out = '';
  const keep = (d: Buffer) => (out = (out + d.toString()).slice(-10_000));
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const p = { name, child, control, out: () => out };
  procs.push(p);
  return p;
}

async function status(p: Proc): Promise<Status | undefined> {
  try {
    return (await controlCall(p.control, 'status', {}, 3000)) as Status;
  } catch {
    return undefined;
  }
}

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function procStat(pid: number): { cpuS: number; rssBytes: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return { cpuS: (Number(rest[11]) + Number(rest[12])) / USER_HZ, rssBytes: rss ? Number(rss[1]) * 1024 : 0 };
}

function quantile(xs: number[], q: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}

interface Get {
  status: number;
  body: Buffer;
  ms: number;
}

function get(agent: Agent, url: string, cookie: string): Promise<Get> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    request(url, { agent, headers: { Cookie: cookie } }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts), ms: performance.now() - t0 }));
      res.on('error', reject);
    })
      .on('error', reject)
      .end();
  });
}

interface PhoneResult {
  segments: number;
  segmentMs: number[];
  playlistMs: number[];
  refusals: string[];
}

/** One phone, as hls.js behaves on a live playlist. */
async function phone(base: string, path: string, stopAt: number): Promise<PhoneResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const r: PhoneResult = { segments: 0, segmentMs: [], playlistMs: [], refusals: [] };
  const cookie = await new Promise<string>((resolve, reject) => {
    request(`${base}/api/session`, { agent }, (res) => {
      res.resume();
      resolve(String(res.headers['set-cookie']?.[0] ?? '').split(';')[0]!);
    })
      .on('error', reject)
      .end();
  });
  let next: number | undefined;
  try {
    while (Date.now() < stopAt) {
      const pl = await get(agent, `${base}${path}`, cookie);
      r.playlistMs.push(pl.ms);
      if (pl.status !== 200) {
        r.refusals.push(`${pl.status} ${pl.body.toString('utf8').slice(0, 120)}`);
        await sleep(1000);
        continue;
      }
      const text = pl.body.toString('utf8');
      const target = Number(/#EXT-X-TARGETDURATION:(\d+)/.exec(text)?.[1] ?? 1);
      const seqs = [...text.matchAll(/^(\d+)\.ts$/gm)].map((m) => Number(m[1]));
      next ??= seqs[Math.max(0, seqs.length - 3)];
      for (const seq of seqs) {
        if (next === undefined || seq < next || Date.now() >= stopAt) continue;
        const seg = await get(agent, `${base}${path.replace('index.m3u8', `${seq}.ts`)}`, cookie);
        if (seg.status === 200) {
          r.segments++;
          r.segmentMs.push(seg.ms);
        } else r.refusals.push(`${seg.status} segment ${seq}`);
        next = seq + 1;
      }
      await sleep(target * 1000 - (pl.ms % 1000));
    }
  } finally {
    agent.destroy();
  }
  return r;
}

/** A phone that asks for segments and never reads: pipelines 20 requests, pauses its socket. */
async function slowPhone(host: string, port: number, path: string, stopAt: number): Promise<void> {
  const base = `http://${host}:${port}`;
  const cookie = await new Promise<string>((resolve, reject) => {
    request(`${base}/api/session`, (res) => {
      res.resume();
      resolve(String(res.headers['set-cookie']?.[0] ?? '').split(';')[0]!);
    })
      .on('error', reject)
      .end();
  });
  const agent = new Agent({ keepAlive: false });
  while (Date.now() < stopAt) {
    const pl = await get(agent, `${base}${path}`, cookie).catch(() => undefined);
    const seqs = pl?.status === 200 ? [...pl.body.toString('utf8').matchAll(/^(\d+)\.ts$/gm)].map((m) => Number(m[1])) : [];
    if (seqs.length) {
      const sock: Socket = connect(port, host);
      sock.on('error', () => undefined);
      sock.pause();
      const reqs = Array.from({ length: 20 }, (_, i) => `GET ${path.replace('index.m3u8', `${seqs[i % seqs.length]}.ts`)} HTTP/1.1\r\nHost: ${host}:${port}\r\nCookie: ${cookie}\r\n\r\n`).join('');
      sock.write(reqs);
      await Promise.race([new Promise((r) => sock.once('close', r)), sleep(Math.max(0, stopAt - Date.now()))]);
      sock.destroy();
    }
    await sleep(1000);
  }
}

async function main(): Promise<void> {
  console.log(`phones bench: ${PHONES} phones + ${SLOW} that never read, ${SECONDS} s, ${KBPS} kbit/s channel; TV box: node ${UNIT_NODE_FLAGS.join(' ')} ${Object.entries(UNIT_ENV).map(([k, v]) => `${k}=${v}`).join(' ')}; load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  const input = makeTestStream({ seconds: 60, bitrateKbps: KBPS, path: join(dir, 'alpha.ts'), size: '640x360' });
  const tracker = start('tracker', ['tracker', '--listen', '127.0.0.1:0', '--log-level', 'warn']);
  const t = await until('tracker', 15_000, async () => (await status(tracker))?.node.contact || undefined);
  const src = start('src', ['publish', 'live', '--tracker', t, '--channel', 'alpha', '--input', input, '--loop', '--listen', '127.0.0.1:0', '--log-level', 'warn']);
  await until('source chunks', 15_000, async () => ((await status(src))?.contents[0]?.source?.chunks ?? 0) > 0 || undefined);
  const tv = start('tv', [
    'node', '--tracker', t, '--listen', '127.0.0.1:0', '--watch', 'alpha', '--web', '127.0.0.1:0', '--log-level', 'warn',
    '--set', 'player.output="headless"', '--set', `web.maxViewers=${PHONES + SLOW + 5}`,
  ], true);
  const url = await until('web page', 20_000, async () => (await status(tv))?.web?.urls[0]);
  const base = url.replace(/\/$/, '');
  const { hostname, port } = new URL(base);
  const alphaId = await until('TV playing', 30_000, async () => {
    const c = (await status(tv))?.contents.find((x) => x.watching);
    return c?.watching && c.continuityIndex != null ? c.id : undefined;
  });
  await sleep(WARMUP_S * 1000);
  const pid = tv.child.pid!;
  const tvContent = async () => (await status(tv))?.contents.find((c) => c.id === alphaId);
  const before = { ...procStat(pid), content: await tvContent(), at: performance.now() };
  const rss: number[] = [];
  const sampler = setInterval(() => rss.push(procStat(pid).rssBytes), 1000);
  const path = `/hls/${alphaId}/index.m3u8`;
  const stopAt = Date.now() + SECONDS * 1000;
  const slow = Array.from({ length: SLOW }, () => slowPhone(hostname, Number(port), path, stopAt));
  const phones: Promise<PhoneResult>[] = [];
  for (let i = 0; i < PHONES; i++) {
    phones.push(phone(base, path, stopAt));
    await sleep(1000 / PHONES);
  }
  const results = await Promise.all(phones);
  await Promise.all(slow);
  clearInterval(sampler);
  const after = { ...procStat(pid), content: await tvContent(), at: performance.now() };
  const web = (await status(tv))?.web?.phones;
  const wallS = (after.at - before.at) / 1000;
  const due = (after.content?.chunksDue ?? 0) - (before.content?.chunksDue ?? 0);
  const onTime = (after.content?.chunksOnTime ?? 0) - (before.content?.chunksOnTime ?? 0);
  const segMs = results.flatMap((r) => r.segmentMs);
  const plMs = results.flatMap((r) => r.playlistMs);
  const refusals = results.flatMap((r) => r.refusals);
  const row = {
    phones: PHONES,
    slowPhones: SLOW,
    seconds: SECONDS,
    streamKbps: KBPS,
    tvContinuity: due > 0 ? Number((onTime / due).toFixed(4)) : null,
    tvChunksDue: due,
    tvPlayerDiscontinuities: (after.content?.watching?.discontinuities ?? 0) - (before.content?.watching?.discontinuities ?? 0),
    tvMpvStalls: (after.content?.watching?.stalls ?? 0) - (before.content?.watching?.stalls ?? 0),
    boxCpuPct: Number((((after.cpuS - before.cpuS) / wallS) * 100).toFixed(1)),
    rssBeforeMB: Number((before.rssBytes / 2 ** 20).toFixed(1)),
    rssGrowthPeakMB: Number(((Math.max(...rss, after.rssBytes) - before.rssBytes) / 2 ** 20).toFixed(1)),
    rssGrowthEndMB: Number(((after.rssBytes - before.rssBytes) / 2 ** 20).toFixed(1)),
    segments: segMs.length,
    segmentsPerPhonePerS: Number((segMs.length / PHONES / SECONDS).toFixed(2)),
    segmentP50Ms: Number(quantile(segMs, 0.5).toFixed(1)),
    segmentP95Ms: Number(quantile(segMs, 0.95).toFixed(1)),
    segmentMaxMs: Number(Math.max(...segMs).toFixed(1)),
    playlistP95Ms: Number(quantile(plMs, 0.95).toFixed(1)),
    refusals: refusals.length,
    slowCut: web?.slowCut ?? null,
    boxSegmentsServed: web?.segments ?? null,
  };
  printTable([Object.fromEntries(Object.entries(row).map(([k, v]) => [k, v ?? '–']))].flatMap((r) => Object.entries(r).map(([metric, value]) => ({ metric, value }))));
  const targets = { tvContinuity: row.tvContinuity === 1, rssGrowth: row.rssGrowthPeakMB <= 10, segmentP95: row.segmentP95Ms <= 100 };
  console.log(`targets: TV continuity 1.0 ${targets.tvContinuity ? 'met' : 'MISSED'}; RSS growth <= 10 MB ${targets.rssGrowth ? 'met' : 'MISSED'}; segment p95 <= 100 ms ${targets.segmentP95 ? 'met' : 'MISSED'}`);
  if (refusals.length) console.log(`refusals (first 5): ${refusals.slice(0, 5).join(' | ')}`);
  const file = writeResult('phones', { machine: machineInfo(), loadAvg: loadavg(), tvNodeFlags: UNIT_NODE_FLAGS, tvEnv: UNIT_ENV, result: row, targets, boxPhones: web });
  console.log(`wrote ${file}`);
}

main()
  .catch((err: Error) => {
    console.error(`phones bench failed: ${err.message}`);
    for (const p of procs) console.error(`--- ${p.name}:\n${p.out().slice(-2000)}`);
    process.exitCode = 1;
  })
  .finally(async () => {
    for (const p of procs) p.child.kill('SIGKILL');
    await sleep(200);
    rmSync(dir, { recursive: true, force: true });
  });
