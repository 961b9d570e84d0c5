// The tracker's reachability test (docs/nat.md): a node asks (ReachabilityReq) whether its contact
// can be dialled; the tracker opens a FRESH TCP connection to it, sends a Hello with role 'probe'
// and waits for the node's Hello. Reachable when the Hello carries the asker's peer id. Only the
// asker's own observed address may be dialled (no scanning of third parties), at most one test per
// peer per minIntervalMs and maxConcurrent at once.
import * as net from 'node:net';
import { encodeFrame, FrameDecoder } from '../protocol/framing.js';
import type { Contact, Message, ReachabilityReq } from '../protocol/messages.js';
import type { PeerAddress } from '../engine/ports.js';
import { PROBE_ROLE } from './connection-manager.js';
import { normalizeHost } from './contact.js';

export interface DialBackResult {
  reachable: boolean;
  /** '' when reachable; else 'timeout', 'refused', 'wrong-peer', 'closed', 'error:CODE'. */
  detail: string;
}

/** Dials `contact` once and waits for a Hello from `expectedPeerId`. Never rejects. */
export function dialBack(contact: Contact, expectedPeerId: string, selfId: string, timeoutMs: number): Promise<DialBackResult> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: contact.host, port: contact.port });
    const decoder = new FrameDecoder({ maxPayloadBytes: 64 * 1024 });
    let done = false;
    const finish = (r: DialBackResult): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      // A graceful end lets our Hello reach the node (it counts the probe) before the socket goes.
      if (r.reachable || r.detail === 'wrong-peer') {
        socket.end();
        setTimeout(() => socket.destroy(), 1_000).unref();
      } else socket.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => finish({ reachable: false, detail: 'timeout' }), timeoutMs);
    socket.on('connect', () => {
      const observed = { host: normalizeHost(socket.remoteAddress ?? ''), port: socket.remotePort ?? 0 };
      socket.write(encodeFrame({ type: 'Hello', peerId: selfId, contentId: '', contact: { host: '', port: 0 }, role: PROBE_ROLE, observed }));
    });
    socket.on('data', (chunk: Buffer) => {
      for (const m of decoder.push(chunk)) {
        if (m.type !== 'Hello') continue;
        finish(m.peerId === expectedPeerId ? { reachable: true, detail: '' } : { reachable: false, detail: 'wrong-peer' });
        return;
      }
    });
    socket.on('error', (e: NodeJS.ErrnoException) => finish({ reachable: false, detail: e.code === 'ECONNREFUSED' ? 'refused' : `error:${e.code ?? e.message}` }));
    socket.on('close', () => finish({ reachable: false, detail: 'closed' }));
  });
}

export interface DialBackServiceOptions {
  selfId: string;
  send: (to: PeerAddress, msg: Message) => boolean;
  timeoutMs?: number;
  minIntervalMs?: number;
  maxConcurrent?: number;
  /** Replaceable for tests. */
  dial?: typeof dialBack;
}

export class DialBackService {
  private readonly lastTest = new Map<string, number>();
  private running = 0;
  tests = 0;
  reachable = 0;

  constructor(private readonly opts: DialBackServiceOptions) {}

  /** Handles one ReachabilityReq; the answer goes back on the asker's connection. */
  handle(from: PeerAddress, req: ReachabilityReq, now = Date.now()): void {
    const answer = (reachable: boolean, detail: string): void => {
      this.opts.send(from, {
        type: 'ReachabilityResp',
        peerId: this.opts.selfId,
        contentId: '',
        contact: { ...req.contact },
        reachable,
        observed: { ...(from.source ?? { host: '', port: 0 }) },
        detail,
      });
    };
    const c = req.contact;
    const source = from.source;
    if (req.peerId !== from.peerId || typeof c?.host !== 'string' || !Number.isInteger(c.port) || c.port <= 0) return answer(false, 'bad-request');
    if (!source || normalizeHost(c.host) !== normalizeHost(source.host)) return answer(false, 'not-your-address');
    const last = this.lastTest.get(from.peerId);
    if (this.running >= (this.opts.maxConcurrent ?? 16) || (last !== undefined && now - last < (this.opts.minIntervalMs ?? 2_000))) {
      return answer(false, 'busy');
    }
    this.lastTest.set(from.peerId, now);
    if (this.lastTest.size > 10_000) this.lastTest.clear();
    this.running++;
    this.tests++;
    const dial = this.opts.dial ?? dialBack;
    void dial(c, from.peerId, this.opts.selfId, this.opts.timeoutMs ?? 3_000).then((r) => {
      this.running--;
      if (r.reachable) this.reachable++;
      answer(r.reachable, r.detail);
    });
  }
}
