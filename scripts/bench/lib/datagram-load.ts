// Datagram load generator for the tracker (src/protocol/tracker-datagram.ts): several UDP sockets,
// each first gets its connection id (connect), then keeps `window` announces in flight (pipelined):
// one datagram per join with TrackerJoin{allowRedirect:true} + Membership, as a box announces; the
// answer (TrackerMembers, TrackerRedirect or Error, matched by transaction id) is decoded and
// checked. An announce unanswered after `timeoutMs` counts as failed (a lost datagram). Latency:
// datagram sent -> answer decoded. Same result shape as the TCP generator (join-load.ts).
import * as dgram from 'node:dgram';
import type { Message } from '../../../src/protocol/messages.js';
import { decodeTrackerDatagram, encodeTrackerDatagram } from '../../../src/protocol/tracker-datagram.js';
import type { JoinTarget, LoadOptions, LoadResult } from './join-load.js';

export interface DatagramLoadOptions extends Omit<LoadOptions, 'concurrency'> {
  sockets: number;
  /** Announces in flight per socket. */
  window: number;
  timeoutMs?: number;
}

function announce(i: number, o: DatagramLoadOptions, id: Uint8Array, tx: number): Buffer {
  const peerId = `${o.prefix}${i}`;
  const contact = { host: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, port: 7878 };
  const contentId = o.contentOf(i);
  const join: Message = { type: 'TrackerJoin', peerId, contentId, contact, kind: 'live', title: '', allowRedirect: true, ticket: new Uint8Array(0) };
  const membership: Message = {
    type: 'Membership', peerId, contentId: '', activeContents: [contentId], seq: 1, contact, ttlMs: 10_000,
    partnerCount: i % 9, reachability: i % 5 === 0 ? 'nat' : 'public',
  };
  return encodeTrackerDatagram({ action: 'announce', transactionId: tx, connectionId: id, messages: [join, membership] });
}

function connectSocket(t: JoinTarget, k: number): Promise<{ sock: dgram.Socket; id: Uint8Array }> {
  return new Promise((resolve, reject) => {
    const sock = dgram.createSocket('udp4');
    const tx = 0x7fff_0000 + k;
    let tries = 0;
    const ask = () => {
      if (++tries > 20) {
        clearInterval(timer);
        sock.close();
        reject(new Error(`no connect answer from ${t.host}:${t.port} over UDP`));
        return;
      }
      sock.send(encodeTrackerDatagram({ action: 'connect', transactionId: tx, connectionId: new Uint8Array(8), messages: [] }), t.port, t.host);
    };
    const timer = setInterval(ask, 250);
    sock.on('message', function first(buf) {
      const d = decodeTrackerDatagram(buf);
      if (d.action !== 'connected' || d.transactionId !== tx) return;
      clearInterval(timer);
      sock.off('message', first);
      resolve({ sock, id: d.connectionId });
    });
    sock.bind(0, `127.0.${(k >> 8) & 255}.${1 + (k % 250)}`, () => {
      try {
        sock.setRecvBufferSize(4 * 1024 * 1024);
      } catch {
        // capped by net.core.rmem_max
      }
      ask();
    });
  });
}

export async function runDatagramJoins(o: DatagramLoadOptions): Promise<LoadResult> {
  const r: LoadResult = { joins: 0, failed: 0, members: 0, redirects: 0, errors: 0, errorSamples: [], seconds: 0, latenciesMs: [] };
  const timeoutMs = o.timeoutMs ?? 2000;
  const sample = (s: string) => {
    if (r.errorSamples.length < 5 && !r.errorSamples.includes(s)) r.errorSamples.push(s);
  };
  const socks = await Promise.all(Array.from({ length: o.sockets }, (_, k) => connectSocket(o.targets[k % o.targets.length] as JoinTarget, k)));
  const t0 = performance.now();
  let next = o.from;
  let lastProgress = t0;
  let txSeq = 1;
  await Promise.all(
    socks.map(({ sock, id }, k) => new Promise<void>((resolve) => {
      const t = o.targets[k % o.targets.length] as JoinTarget;
      const inflight = new Map<number, { i: number; at: number }>();
      const done = () => {
        if (next >= o.to && inflight.size === 0) {
          clearInterval(sweeper);
          sock.close();
          resolve();
        }
      };
      const fill = () => {
        while (inflight.size < o.window && next < o.to) {
          const i = next++;
          const tx = txSeq++;
          inflight.set(tx, { i, at: performance.now() });
          sock.send(announce(i, o, id, tx), t.port, t.host);
        }
        done();
      };
      const sweeper = setInterval(() => {
        const now = performance.now();
        for (const [tx, f] of inflight) {
          if (now - f.at < timeoutMs) continue;
          inflight.delete(tx);
          r.failed++;
          sample(`no answer within ${timeoutMs} ms (datagram lost)`);
        }
        fill();
      }, 100);
      sock.on('message', (buf) => {
        const now = performance.now();
        let d;
        try {
          d = decodeTrackerDatagram(buf);
        } catch (e) {
          r.failed++;
          sample(`undecodable answer: ${(e as Error).message}`);
          return;
        }
        const f = inflight.get(d.transactionId);
        if (!f || d.action !== 'answer') return;
        inflight.delete(d.transactionId);
        const m = d.messages[0] as Message;
        const ms = now - f.at;
        if (m.type === 'TrackerMembers' && m.contentId === o.contentOf(f.i)) {
          r.joins++;
          r.members++;
          r.latenciesMs.push(ms);
        } else if (m.type === 'TrackerRedirect' && m.deputy.peerId !== `${o.prefix}${f.i}`) {
          r.joins++;
          r.redirects++;
          r.latenciesMs.push(ms);
        } else {
          r.failed++;
          if (m.type === 'Error') {
            r.errors++;
            sample(m.message);
          } else sample(`unexpected answer ${m.type}`);
        }
        if (o.onProgress && now - lastProgress > 1000) {
          lastProgress = now;
          o.onProgress(r.joins, r.failed);
        }
        fill();
      });
      fill();
    })),
  );
  r.seconds = (performance.now() - t0) / 1000;
  return r;
}
