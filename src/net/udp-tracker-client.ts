// A box's datagram announces to its tracker (after BEP 15; wire format in
// src/protocol/tracker-datagram.ts): connect once for a connection id (fresh for CONNECTION_FRESH_MS),
// then send the announce (TrackerJoin per content + Membership) in as few datagrams as fit, and
// hand every answer (TrackerMembers, TrackerRedirect, Error) to onMessage as if it came over TCP. A
// request unanswered after retryMs is sent again, `tries` times in all; then the caller's fallback
// (TCP) takes over and UDP is not tried again for UNAVAILABLE_MS (a tracker without UDP, a
// firewall dropping datagrams).
import * as dgram from 'node:dgram';
import type { Contact, Message } from '../protocol/messages.js';
import { CONNECTION_ID_BYTES, TRACKER_DATAGRAM_MAX_MESSAGES, decodeTrackerDatagram, encodeTrackerDatagram } from '../protocol/tracker-datagram.js';
import type { TrackerDatagramPort } from '../engine/tracker-client.js';

/** A connection id is used this long after it came (the tracker accepts it 60–120 s). */
export const CONNECTION_FRESH_MS = 50_000;
/** After UDP failed, announces go over TCP for this long before UDP is tried again. */
export const UNAVAILABLE_MS = 10 * 60_000;

export interface UdpTrackerClientOptions {
  onMessage: (from: Contact, msg: Message) => void;
  onWarning?: (code: string, message: string) => void;
  retryMs?: number;
  tries?: number;
  now?: () => number;
}

export interface UdpTrackerClientStats {
  connects: number;
  datagramsSent: number;
  answers: number;
  fallbacks: number;
}

interface Pending {
  /** Where the request went: answers are handed on as coming from this contact. */
  tracker: Contact;
  sent: number;
  timer?: NodeJS.Timeout;
  /** Waits for an answer (a join is in it); otherwise sent once and forgotten. */
  fail: () => void;
}

const key = (c: Contact): string => `${c.host}|${c.port}`;

export class UdpTrackerClient implements TrackerDatagramPort {
  private sock: dgram.Socket | undefined;
  private readonly ids = new Map<string, { id: Uint8Array; at: number }>();
  private readonly connecting = new Map<string, Array<(id: Uint8Array | undefined) => void>>();
  private readonly unavailableUntil = new Map<string, number>();
  private readonly pending = new Map<number, Pending>();
  private tx = (Math.random() * 0x7fff_ffff) >>> 0;
  private closed = false;
  private readonly counters: UdpTrackerClientStats = { connects: 0, datagramsSent: 0, answers: 0, fallbacks: 0 };

  constructor(private readonly o: UdpTrackerClientOptions) {}

  stats(): UdpTrackerClientStats {
    return { ...this.counters };
  }

  announce(tracker: Contact, msgs: Message[], fallback: () => void): void {
    const k = key(tracker);
    if (this.closed || (this.unavailableUntil.get(k) ?? 0) > this.now()) return fallback();
    let fellBack = false;
    const fail = () => {
      if (fellBack) return;
      fellBack = true;
      this.counters.fallbacks++;
      this.unavailableUntil.set(k, this.now() + UNAVAILABLE_MS);
      this.ids.delete(k);
      this.o.onWarning?.('udp-tracker', `tracker ${tracker.host}:${tracker.port} did not answer over UDP; announcing over TCP for ${UNAVAILABLE_MS / 60_000} min`);
      fallback();
    };
    void this.connectionId(tracker).then((id) => {
      if (!id) return fail();
      for (const chunk of this.chunks(msgs, id)) this.request(tracker, chunk.buf, chunk.expectsAnswer ? fail : undefined);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const p of this.pending.values()) clearTimeout(p.timer);
    this.pending.clear();
    for (const waiters of this.connecting.values()) waiters.forEach((w) => w(undefined));
    this.connecting.clear();
    const s = this.sock;
    this.sock = undefined;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  private now(): number {
    return (this.o.now ?? Date.now)();
  }

  /** The messages in datagrams that encode (at most 16 messages, 1,200 bytes each). */
  private chunks(msgs: Message[], id: Uint8Array): Array<{ buf: Buffer; expectsAnswer: boolean }> {
    const out: Array<{ buf: Buffer; expectsAnswer: boolean }> = [];
    let i = 0;
    while (i < msgs.length) {
      let n = Math.min(TRACKER_DATAGRAM_MAX_MESSAGES, msgs.length - i);
      for (;;) {
        try {
          const part = msgs.slice(i, i + n);
          out.push({ buf: encodeTrackerDatagram({ action: 'announce', transactionId: 0, connectionId: id, messages: part }), expectsAnswer: part.some((m) => m.type === 'TrackerJoin') });
          break;
        } catch (err) {
          if (n === 1) {
            this.o.onWarning?.('udp-tracker', `a ${msgs[i]!.type} does not fit a datagram: ${String(err)}`);
            break;
          }
          n = Math.ceil(n / 2);
        }
      }
      i += n;
    }
    return out;
  }

  private socket(tracker: Contact): dgram.Socket {
    if (this.sock) return this.sock;
    const s = dgram.createSocket(tracker.host.includes(':') ? 'udp6' : 'udp4');
    s.on('message', (buf) => this.onDatagram(buf));
    s.on('error', (e) => this.o.onWarning?.('udp-tracker', `UDP socket to the tracker: ${e.message}`));
    this.sock = s;
    return s;
  }

  private nextTx(): number {
    this.tx = (this.tx + 1) >>> 0;
    return this.tx;
  }

  private connectionId(tracker: Contact): Promise<Uint8Array | undefined> {
    const k = key(tracker);
    const have = this.ids.get(k);
    if (have && this.now() - have.at < CONNECTION_FRESH_MS) return Promise.resolve(have.id);
    return new Promise((resolve) => {
      const waiters = this.connecting.get(k);
      if (waiters) return void waiters.push(resolve);
      this.connecting.set(k, [resolve]);
      this.counters.connects++;
      const buf = encodeTrackerDatagram({ action: 'connect', transactionId: 0, connectionId: new Uint8Array(CONNECTION_ID_BYTES), messages: [] });
      this.request(tracker, buf, () => {
        const w = this.connecting.get(k) ?? [];
        this.connecting.delete(k);
        w.forEach((f) => f(undefined));
      }, (id) => {
        this.ids.set(k, { id, at: this.now() });
        const w = this.connecting.get(k) ?? [];
        this.connecting.delete(k);
        w.forEach((f) => f(id));
      });
    });
  }

  /** Sends with a fresh transaction id; `fail` set: resent every retryMs until answered or out of tries. */
  private request(tracker: Contact, template: Buffer, fail?: () => void, onConnected?: (id: Uint8Array) => void): void {
    if (this.closed) return fail?.();
    const tx = this.nextTx();
    const buf = Buffer.from(template);
    buf.writeUInt32BE(tx, 6);
    const sock = this.socket(tracker);
    const send = () => {
      this.counters.datagramsSent++;
      sock.send(buf, tracker.port, tracker.host, (err) => {
        if (err) this.o.onWarning?.('udp-tracker', `UDP to the tracker ${tracker.host}:${tracker.port}: ${err.message}`);
      });
    };
    if (!fail) return send();
    const tries = this.o.tries ?? 3;
    const p: Pending = { tracker, sent: 0, fail };
    const attempt = () => {
      if (p.sent >= tries) {
        this.pending.delete(tx);
        return fail();
      }
      p.sent++;
      send();
      p.timer = setTimeout(attempt, this.o.retryMs ?? 1000);
      p.timer.unref?.();
    };
    this.pending.set(tx, p);
    if (onConnected) this.onConnected.set(tx, onConnected);
    attempt();
  }

  private readonly onConnected = new Map<number, (id: Uint8Array) => void>();

  private onDatagram(buf: Buffer): void {
    let d;
    try {
      d = decodeTrackerDatagram(buf);
    } catch {
      return; // not an answer of our tracker
    }
    const p = this.pending.get(d.transactionId);
    if (!p) return; // late duplicate, or not ours
    if (d.action === 'connected') {
      const cb = this.onConnected.get(d.transactionId);
      if (!cb) return;
      clearTimeout(p.timer);
      this.pending.delete(d.transactionId);
      this.onConnected.delete(d.transactionId);
      cb(d.connectionId);
      return;
    }
    if (d.action !== 'answer') return;
    // One answer per join; the request is answered with the first (the others share its id).
    clearTimeout(p.timer);
    this.counters.answers++;
    setTimeout(() => this.pending.delete(d.transactionId), this.o.retryMs ?? 1000).unref?.();
    p.sent = Number.POSITIVE_INFINITY;
    for (const m of d.messages) this.o.onMessage(p.tracker, m);
  }
}
