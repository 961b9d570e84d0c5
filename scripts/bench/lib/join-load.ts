// Load generator for the tracker, speaking the real wire protocol the way a box announces: a fresh
// TCP connection per join (from a rotating 127.0.0.x source so the loopback port space lasts),
// Hello + TrackerJoin{allowRedirect:true} + Membership in one write, wait for the tracker's answer
// (TrackerMembers, TrackerRedirect or Error), check it, close. Latency: join sent -> answer decoded.
import * as net from 'node:net';
import { encodeFrame, FrameDecoder } from '../../../src/protocol/framing.js';
import type { Message } from '../../../src/protocol/messages.js';

export interface JoinTarget {
  host: string;
  port: number;
}

export interface LoadOptions {
  targets: JoinTarget[];
  /** Content of the i-th join. */
  contentOf: (i: number) => string;
  /** Peer ids `${prefix}${i}` for i in [from, to). */
  prefix: string;
  from: number;
  to: number;
  /** Joins in flight at once. */
  concurrency: number;
  /** Called with progress every ~second. */
  onProgress?: (done: number, failed: number) => void;
}

export interface LoadResult {
  joins: number;
  failed: number;
  members: number;
  redirects: number;
  errors: number;
  /** Error messages seen (first few), for the report. */
  errorSamples: string[];
  seconds: number;
  latenciesMs: number[];
}

function frames(i: number, o: LoadOptions): Buffer {
  const peerId = `${o.prefix}${i}`;
  const contact = { host: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, port: 7878 };
  const contentId = o.contentOf(i);
  const hello: Message = { type: 'Hello', peerId, contentId: '', contact, role: 'node', observed: { host: '', port: 0 } };
  const join: Message = { type: 'TrackerJoin', peerId, contentId, contact, kind: 'live', title: '', allowRedirect: true, ticket: new Uint8Array(0) };
  const membership: Message = {
    type: 'Membership', peerId, contentId: '', activeContents: [contentId], seq: 1, contact, ttlMs: 10_000,
    partnerCount: i % 9, reachability: i % 5 === 0 ? 'nat' : 'public',
  };
  return Buffer.concat([encodeFrame(hello), encodeFrame(join), encodeFrame(membership)]);
}

type Outcome = { kind: 'members' | 'redirect' | 'error' | 'failed'; ms: number; detail?: string };

function oneJoin(i: number, o: LoadOptions): Promise<Outcome> {
  const t = o.targets[i % o.targets.length] as JoinTarget;
  return new Promise((resolve) => {
    const decoder = new FrameDecoder({ maxPayloadBytes: 4 * 1024 * 1024 });
    let sentAt = 0;
    let done = false;
    const finish = (r: Outcome) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(r);
    };
    const socket = net.connect({ host: t.host, port: t.port, localAddress: `127.0.${(i >> 8) & 255}.${1 + (i % 250)}` });
    const timer = setTimeout(() => finish({ kind: 'failed', ms: 0, detail: 'no answer within 10 s' }), 10_000);
    socket.setNoDelay(true);
    socket.on('connect', () => {
      sentAt = performance.now();
      socket.write(frames(i, o));
    });
    socket.on('data', (chunk: Buffer) => {
      for (const m of decoder.push(chunk)) {
        const ms = performance.now() - sentAt;
        if (m.type === 'TrackerMembers') {
          if (m.contentId !== o.contentOf(i)) return finish({ kind: 'failed', ms, detail: 'answer for another content' });
          return finish({ kind: 'members', ms });
        }
        if (m.type === 'TrackerRedirect') {
          if (!m.deputy || m.deputy.peerId === `${o.prefix}${i}`) return finish({ kind: 'failed', ms, detail: 'redirect to itself' });
          return finish({ kind: 'redirect', ms });
        }
        if (m.type === 'Error') return finish({ kind: 'error', ms, detail: m.message });
      }
    });
    socket.on('error', (e) => finish({ kind: 'failed', ms: 0, detail: e.message }));
    socket.on('close', () => finish({ kind: 'failed', ms: 0, detail: 'closed before an answer' }));
  });
}

export async function runJoins(o: LoadOptions): Promise<LoadResult> {
  const r: LoadResult = { joins: 0, failed: 0, members: 0, redirects: 0, errors: 0, errorSamples: [], seconds: 0, latenciesMs: [] };
  const t0 = performance.now();
  let next = o.from;
  let lastProgress = t0;
  const worker = async () => {
    while (next < o.to) {
      const i = next++;
      const out = await oneJoin(i, o);
      if (out.kind === 'failed' || out.kind === 'error') {
        r.failed++;
        if (out.kind === 'error') r.errors++;
        if (r.errorSamples.length < 5 && out.detail && !r.errorSamples.includes(out.detail)) r.errorSamples.push(out.detail);
      } else {
        r.joins++;
        r.latenciesMs.push(out.ms);
        if (out.kind === 'members') r.members++;
        else r.redirects++;
      }
      const now = performance.now();
      if (o.onProgress && now - lastProgress > 1000) {
        lastProgress = now;
        o.onProgress(r.joins, r.failed);
      }
    }
  };
  await Promise.all(Array.from({ length: o.concurrency }, worker));
  r.seconds = (performance.now() - t0) / 1000;
  return r;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}
