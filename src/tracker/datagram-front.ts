// The tracker's datagram front, sans-IO (after BEP 15): turns received datagrams
// (src/protocol/tracker-datagram.ts) into the tracker's joins, Memberships and leaves, and its
// answers into datagrams. Anti-spoofing without per-client state: a connect is answered with a
// connection id = one epoch-parity byte + the first 7 bytes of HMAC-SHA256(key of the epoch,
// source host|port); the key is derived from a process secret and the epoch (keyPeriodMs), and an id
// is accepted during its epoch and the next one (1–2 key periods). An announce whose id does not
// match its source address (a spoofed source, a stale id, garbage) is dropped and counted, unanswered:
// the tracker never sends more than it received to an address that did not prove it reads answers.
import * as crypto from 'node:crypto';
import type { Contact, Message, MessageOf } from '../protocol/messages.js';
import { isProtocolError, ProtocolError } from '../protocol/errors.js';
import {
  CONNECTION_ID_BYTES,
  TRACKER_DATAGRAM_HEADER_BYTES,
  TRACKER_DATAGRAM_MAX_BYTES,
  datagramMessageBytes,
  decodeTrackerDatagram,
  encodeTrackerDatagram,
} from '../protocol/tracker-datagram.js';
import type { PeerAddress } from '../engine/ports.js';

/** Default key period: an id is valid 60–120 s after its connect. */
export const CONNECTION_KEY_PERIOD_MS = 60_000;

export interface DatagramStats {
  received: number;
  connects: number;
  /** Messages taken from valid announces (joins, Memberships, leaves). */
  announces: number;
  answers: number;
  /** Announces whose connection id does not match their source (spoofed or expired): dropped. */
  spoofed: number;
  /** Datagrams that do not decode (or carry a message an announce may not): dropped. */
  malformed: number;
  /** Answers whose member list was cut to fit one datagram. */
  trimmedAnswers: number;
}

export interface DatagramTracker {
  receiveDatagram(from: PeerAddress, msg: Message, reply: (m: Message) => void, maxMembers?: number): boolean;
}

export interface DatagramFrontDeps {
  tracker: DatagramTracker;
  /** ms. */
  now: () => number;
  /** At least 16 random bytes, kept for the process's life. */
  secret: Uint8Array;
  send: (to: Contact, datagram: Buffer) => void;
  keyPeriodMs?: number;
  /** A dropped datagram, for a rate-limited log line. */
  onDropped?: (from: Contact, why: string) => void;
}

const PREFIX_BYTES = 1;
/**
 * Members asked of the tracker for a datagram answer: about what fits 1,200 bytes with 40-character
 * peer ids and IPv4 contacts (~70 bytes each); longer ids or host names are cut by fit().
 */
export const DATAGRAM_MEMBERS = 16;

export class DatagramFront {
  private readonly counters: DatagramStats = { received: 0, connects: 0, announces: 0, answers: 0, spoofed: 0, malformed: 0, trimmedAnswers: 0 };
  private readonly keys = new Map<number, HmacKey>();
  private readonly period: number;

  constructor(private readonly deps: DatagramFrontDeps) {
    if (deps.secret.length < 16) throw new Error(`tracker datagram secret: ${deps.secret.length} bytes, needs at least 16`);
    this.period = deps.keyPeriodMs ?? CONNECTION_KEY_PERIOD_MS;
  }

  stats(): DatagramStats {
    return { ...this.counters };
  }

  /** The connection id the tracker hands `from` now (tests, the benchmark's expectations). */
  connectionId(from: Contact, now = this.deps.now()): Uint8Array {
    return this.idFor(from, Math.floor(now / this.period));
  }

  /** Whether `id` is one the tracker handed `from` in this key period or the previous one. */
  validId(from: Contact, id: Uint8Array, now = this.deps.now()): boolean {
    if (id.length !== CONNECTION_ID_BYTES) return false;
    const epoch = Math.floor(now / this.period);
    const e = (epoch & 1) === (id[0]! & 1) ? epoch : epoch - 1;
    return crypto.timingSafeEqual(this.idFor(from, e), id);
  }

  receive(buf: Buffer, from: Contact): void {
    this.counters.received++;
    let d;
    try {
      d = decodeTrackerDatagram(buf);
    } catch (err) {
      this.counters.malformed++;
      this.deps.onDropped?.(from, isProtocolError(err) ? err.message : String(err));
      return;
    }
    if (d.action === 'connect') {
      this.counters.connects++;
      this.deps.send(from, encodeTrackerDatagram({ action: 'connected', transactionId: d.transactionId, connectionId: this.connectionId(from), messages: [] }));
      return;
    }
    if (d.action !== 'announce') {
      this.counters.malformed++;
      this.deps.onDropped?.(from, `a ${d.action} datagram sent to the tracker`);
      return;
    }
    if (!this.validId(from, d.connectionId)) {
      this.counters.spoofed++;
      this.deps.onDropped?.(from, 'connection id does not match the source address (spoofed or expired)');
      return;
    }
    const id = d.connectionId;
    for (const msg of d.messages) {
      this.counters.announces++;
      const peer: PeerAddress = { peerId: msg.peerId, contact: 'contact' in msg && msg.contact ? msg.contact : from, source: { ...from } };
      this.deps.tracker.receiveDatagram(peer, msg, (answer) => this.answer(from, d.transactionId, id, answer), DATAGRAM_MEMBERS);
    }
  }

  private answer(to: Contact, transactionId: number, connectionId: Uint8Array, m: Message): void {
    const encode = (msg: Message) => encodeTrackerDatagram({ action: 'answer', transactionId, connectionId, messages: [msg] });
    let buf: Buffer;
    try {
      buf = encode(m);
    } catch (err) {
      // Too long for one datagram (long ids or host names): cut the members list, lowest ranked first.
      try {
        if (!(err instanceof ProtocolError && err.kind === 'too-long' && m.type === 'TrackerMembers')) throw err;
        buf = encode(this.fit(m));
      } catch (err2) {
        this.deps.onDropped?.(to, `answer not encodable: ${String(err2)}`);
        return;
      }
    }
    this.deps.send(to, buf);
    this.counters.answers++;
  }

  /** Cuts a TrackerMembers' list (its last, lowest-ranked entries) so the answer fits one datagram. */
  private fit(m: MessageOf<'TrackerMembers'>): Message {
    const budget = TRACKER_DATAGRAM_MAX_BYTES - TRACKER_DATAGRAM_HEADER_BYTES;
    this.counters.trimmedAnswers++;
    let members = m.members;
    let size = datagramMessageBytes(m);
    while (size > budget && members.length > 0) {
      const keep = Math.min(members.length - 1, Math.floor((members.length * budget) / size));
      members = members.slice(0, Math.max(0, keep));
      size = datagramMessageBytes({ ...m, members });
    }
    return { ...m, members };
  }

  private idFor(from: Contact, epoch: number): Uint8Array {
    const h = this.keyOf(epoch).mac(`${from.host}|${from.port}`);
    const id = new Uint8Array(CONNECTION_ID_BYTES);
    id[0] = (h[0]! & 0xfe) | (epoch & 1);
    id.set(h.subarray(PREFIX_BYTES, CONNECTION_ID_BYTES), PREFIX_BYTES);
    return id;
  }

  private keyOf(epoch: number): HmacKey {
    let k = this.keys.get(epoch);
    if (!k) {
      k = new HmacKey(crypto.createHmac('sha256', this.deps.secret).update(`superdist tracker connection key ${epoch}`).digest());
      this.keys.set(epoch, k);
      for (const e of this.keys.keys()) if (e < epoch - 1) this.keys.delete(e);
    }
    return k;
  }
}

type OneShotHash = (algorithm: string, data: Uint8Array, encoding: 'buffer') => Buffer;
const oneShot = (crypto as unknown as { hash?: OneShotHash }).hash;
const BLOCK = 64;
/** Longest "host|port" the fast path takes (an IPv6 address with port is at most ~47 bytes). */
const MAX_INPUT = 128;

/**
 * HMAC-SHA256 with one key, several times a datagram: RFC 2104 computed with two one-shot hashes over
 * the precomputed padded keys (half the cost of createHmac per call here); createHmac where
 * crypto.hash is missing (Node < 20.12) or for a longer input. Same bytes either way (unit test).
 */
export class HmacKey {
  private readonly inner = Buffer.alloc(BLOCK + MAX_INPUT);
  private readonly outer = Buffer.alloc(BLOCK + 32);

  constructor(private readonly key: Buffer) {
    const k = Buffer.alloc(BLOCK);
    (key.length > BLOCK ? crypto.createHash('sha256').update(key).digest() : key).copy(k);
    for (let i = 0; i < BLOCK; i++) {
      this.inner[i] = k[i]! ^ 0x36;
      this.outer[i] = k[i]! ^ 0x5c;
    }
  }

  mac(text: string): Buffer {
    const n = Buffer.byteLength(text);
    if (!oneShot || n > MAX_INPUT) return crypto.createHmac('sha256', this.key).update(text).digest();
    this.inner.write(text, BLOCK, 'utf8');
    oneShot('sha256', this.inner.subarray(0, BLOCK + n), 'buffer').copy(this.outer, BLOCK);
    return oneShot('sha256', this.outer, 'buffer');
  }
}
