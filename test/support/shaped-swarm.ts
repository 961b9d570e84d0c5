// A live swarm behind shaped uplinks in network namespaces (root only), shared by the shaped-swarm
// benchmark and its integration test:
//
//   inet ns:    bridge br0 (the "internet"), no address
//   tracker ns: up0 10.79.0.2/24 → br0, unshaped
//   source ns:  up0 10.79.0.3/24 → br0, egress shaped with tc tbf at sourceFactor × the stream
//   box<i> ns:  up0 10.79.0.<9+i>/24 → br0, egress shaped at uplinks[i-1] × the stream
//
// Shaping is egress only (a home uplink; downlinks are larger) with a `latency 400ms` tbf queue, as
// a home router's. `shaped: false` builds the same swarm without any shaping. Figures of a measured
// window come from two status snapshots of every box and the source (windowFigures).
import { spawnSync } from 'node:child_process';
import { controlCall } from '../../src/control/control-client.js';
import type { Status } from '../../src/control/status.js';
import { NetnsLab } from './netns.js';
import type { Proc } from './processes.js';

export const NET = '10.79.0';
const TRACKER = `${NET}.2:7000`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Uplink of each box as a multiple of the stream: one box below 1x (two from 12 boxes on), the
 * others spread evenly from 3x down to 1.5x.
 */
export function boxUplinks(boxes: number): number[] {
  const low = boxes >= 12 ? [0.8, 0.6] : boxes >= 2 ? [0.8] : [];
  const n = boxes - low.length;
  const spread = Array.from({ length: n }, (_, i) => (n === 1 ? 2 : 3 - (1.5 * i) / (n - 1)));
  return [...spread, ...low].map((x) => Math.round(x * 100) / 100);
}

export interface ShapedSwarmOptions {
  shaped: boolean;
  boxes: number;
  /** Measured stream rate (bits/s): the shaping is a multiple of it. */
  streamBps: number;
  sourceFactor: number;
  input: string;
  channel: string;
  dir: string;
  extraArgs?: string[];
}

export async function statusOf(p: Proc, timeoutMs = 10_000): Promise<Status | undefined> {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return (await controlCall(p.control, 'status', {}, timeoutMs)) as Status;
    } catch {
      await sleep(200);
    }
  }
  return undefined;
}

/** Polls `probe` every 200 ms until it gives a value; throws naming `what` after `ms`. */
export async function until<T>(what: string, ms: number, probe: () => Promise<T | undefined>): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(200);
  }
}

export class ShapedSwarm {
  readonly lab = new NetnsLab();
  readonly uplinks: number[];
  readonly boxes: Proc[] = [];
  source: Proc | undefined;

  constructor(readonly o: ShapedSwarmOptions) {
    this.uplinks = boxUplinks(o.boxes);
  }

  /** Namespaces, links, shaping; then tracker, source (publishing) and boxes, started 200 ms apart. */
  async start(): Promise<void> {
    const { lab, o } = this;
    lab.addNamespace('inet');
    lab.addBridge('inet', 'br0');
    const attach = (ns: string, host: number, factor: number | undefined) => {
      lab.addNamespace(ns);
      lab.link({ ns, dev: 'up0', cidr: `${NET}.${host}/24` }, { ns: 'inet', dev: `v${host}`, bridge: 'br0' });
      if (o.shaped && factor !== undefined) lab.shape(ns, 'up0', { rate: `${Math.round((factor * o.streamBps) / 1000)}kbit`, burst: '16kb', latency: '400ms' });
    };
    attach('tracker', 2, undefined);
    attach('source', 3, o.sourceFactor);
    this.uplinks.forEach((f, i) => attach(`box${i + 1}`, 10 + i, f));
    const args = (a: string[]) => [...a, '--log-level', 'error', ...(o.extraArgs ?? [])];
    const tracker = lab.start('tracker', 'tracker', o.dir, args(['tracker', '--listen', TRACKER]));
    await until('tracker', 15_000, () => statusOf(tracker, 2000));
    const source = lab.start('source', 'source', o.dir, args(['publish', 'live', '--tracker', TRACKER, '--channel', o.channel, '--input', o.input, '--loop', '--listen', `${NET}.3:7001`]));
    this.source = source;
    await until('source publishing', 20_000, async () => ((await statusOf(source, 2000))?.contents[0]?.source?.chunks ? true : undefined));
    for (let i = 0; i < o.boxes; i++) {
      const ns = `box${i + 1}`;
      this.boxes.push(lab.start(ns, ns, o.dir, args(['node', '--tracker', TRACKER, '--listen', `${NET}.${10 + i}:7002`, '--watch', o.channel, '--player', 'none'])));
      await sleep(200);
    }
  }

  async snapshot(): Promise<Snapshot> {
    const [boxes, source] = await Promise.all([Promise.all(this.boxes.map((p) => statusOf(p))), this.source ? statusOf(this.source) : undefined]);
    return { boxes, source, at: Date.now() };
  }

  /** Bytes the source's sockets hold unsent in the kernel (ss Send-Q, summed over its connections). */
  sourceKernelSendQ(): number {
    const r = spawnSync('ip', ['netns', 'exec', this.lab.ns('source'), 'ss', '-tnH', 'state', 'established'], { encoding: 'utf8' });
    let sum = 0;
    for (const line of (r.stdout ?? '').split('\n')) {
      const f = line.trim().split(/\s+/);
      if (f.length >= 2) sum += Number(f[1]) || 0;
    }
    return sum;
  }

  cleanup(): Promise<void> {
    return this.lab.cleanup();
  }
}

export interface Snapshot {
  boxes: Array<Status | undefined>;
  source: Status | undefined;
  at: number;
}

export interface BoxFigures {
  box: string;
  /** Uplink ÷ stream rate (null: unshaped). */
  uplinkFactor: number | null;
  chunksDue: number;
  /** On time ÷ due over the window (null: nothing due, or no status). */
  continuity: number | null;
  lagMs: number | null;
  chunkKBIn: number;
  chunkKBOut: number;
  /** Chunk bytes sent ÷ what the uplink could carry over the window (null: unshaped). */
  uplinkUsed: number | null;
  requests: number;
  timeouts: number;
  duplicates: number;
  rejects: number;
  skipped: number;
  /** Requests we served / refused over the window. */
  served: number;
  refused: number;
  /** Send window at the end of the window (null: none, or not measured). */
  sendRateBps: number | null;
  sendDelayMs: number | null;
}

export interface RunSummary {
  continuityMean: number;
  continuityMin: number;
  /** Over the boxes whose uplink is at least the stream rate (all boxes when unshaped). */
  continuityMeanAtLeast1x: number;
  continuityMinAtLeast1x: number;
  sourceUploadFactor: number;
  /** Σ chunk bytes the boxes sent ÷ Σ what their uplinks could carry (null: unshaped). */
  uploadUsed: number | null;
  timeouts: number;
  duplicates: number;
  lagMedianMs: number;
  sourceSendQMaxKB?: number;
  /** Source over the window: requests refused by its copies budget / in all; its send window at the end. */
  sourceDeferred: number;
  sourceRefused: number;
  sourceRateBps: number | null;
  sourceDelayMs: number | null;
}

/** Per-box and swarm figures of the window between two snapshots. */
export function windowFigures(first: Snapshot, last: Snapshot, uplinks: Array<number | null>, streamBps: number): { rows: BoxFigures[]; summary: RunSummary } {
  const seconds = (last.at - first.at) / 1000;
  const rows = last.boxes.map((s, i): BoxFigures => {
    const a = first.boxes[i]?.contents[0];
    const b = s?.contents[0];
    const d = (k: 'chunksDue' | 'chunksOnTime' | 'chunkBytesIn' | 'chunkBytesOut' | 'requestsSent' | 'requestTimeouts' | 'duplicates' | 'rejectsReceived' | 'chunksSkipped' | 'chunksServed' | 'requestsRefused') => (b?.[k] ?? 0) - (a?.[k] ?? 0);
    const due = d('chunksDue');
    const f = uplinks[i] ?? null;
    return {
      box: `box${i + 1}`,
      uplinkFactor: f,
      chunksDue: due,
      continuity: b && due > 0 ? d('chunksOnTime') / due : b ? null : 0,
      lagMs: b?.lagMs ?? null,
      chunkKBIn: Math.round(d('chunkBytesIn') / 1024),
      chunkKBOut: Math.round(d('chunkBytesOut') / 1024),
      uplinkUsed: f === null ? null : (d('chunkBytesOut') * 8) / (f * streamBps * seconds),
      requests: d('requestsSent'),
      timeouts: d('requestTimeouts'),
      duplicates: d('duplicates'),
      rejects: d('rejectsReceived'),
      skipped: d('chunksSkipped'),
      served: d('chunksServed'),
      refused: d('requestsRefused'),
      sendRateBps: b?.sendRateBps ?? null,
      sendDelayMs: b?.sendDelayMs ?? null,
    };
  });
  const cont = rows.map((r) => r.continuity ?? 0);
  const atLeast1x = rows.filter((r) => r.uplinkFactor === null || r.uplinkFactor >= 1).map((r) => r.continuity ?? 0);
  const sa = first.source?.contents[0];
  const sb = last.source?.contents[0];
  const stream = (sb?.source?.streamBytes ?? 0) - (sa?.source?.streamBytes ?? 0);
  const upload = (sb?.chunkBytesOut ?? 0) - (sa?.chunkBytesOut ?? 0);
  const capacity = rows.reduce((x, r) => x + (r.uplinkFactor ?? 0), 0) * streamBps * seconds;
  const sent = rows.reduce((x, r) => x + r.chunkKBOut * 1024 * 8, 0);
  const lags = rows.map((r) => r.lagMs).filter((x): x is number => x !== null).sort((x, y) => x - y);
  const mean = (xs: number[]) => (xs.length ? xs.reduce((x, y) => x + y, 0) / xs.length : NaN);
  return {
    rows,
    summary: {
      continuityMean: mean(cont),
      continuityMin: Math.min(...cont),
      continuityMeanAtLeast1x: mean(atLeast1x),
      continuityMinAtLeast1x: Math.min(...atLeast1x),
      sourceUploadFactor: stream > 0 ? upload / stream : NaN,
      uploadUsed: uplinks.some((u) => u !== null) ? sent / capacity : null,
      timeouts: rows.reduce((x, r) => x + r.timeouts, 0),
      duplicates: rows.reduce((x, r) => x + r.duplicates, 0),
      lagMedianMs: lags.length ? (lags[Math.floor(lags.length / 2)] as number) : NaN,
      sourceDeferred: (sb?.sourceDeferred ?? 0) - (sa?.sourceDeferred ?? 0),
      sourceRefused: (sb?.requestsRefused ?? 0) - (sa?.requestsRefused ?? 0),
      sourceRateBps: sb?.sendRateBps ?? null,
      sourceDelayMs: sb?.sendDelayMs ?? null,
    },
  };
}
