// Hole punching between two boxes behind NATs (docs/nat.md), through the tracker as rendezvous:
//  1. a `nat` box learns its punch contact: it connects to the tracker FROM its punch port (a fixed
//     port next to the listen port; Node has no SO_REUSEPORT, so it cannot be the listen port) with
//     a Hello of role 'probe'; the tracker's Hello says where that connection came from (the NAT's
//     mapping of the punch port — Linux masquerade keeps the port when it can);
//  2. it registers that contact with the tracker (PunchReq, target '') and re-registers periodically;
//  3. to reach another `nat` member it sends PunchReq{target}; the tracker sends PunchNow to both
//     with the other's punch contact, and both dial it at once from their punch ports (TCP
//     simultaneous open: each NAT sees an outgoing connection and lets the other's SYN in);
//  4. a few dials over a couple of seconds, then a back-off per target; counters punchAttempts and
//     punchSucceeded.
// Connection reversal uses the same rendezvous: a public or mapped box short of partners asks for a
// `nat` member with PunchReq{target, its own public contact}; the `nat` box dials it back (it can),
// and the partnership follows on that connection.
import * as net from 'node:net';
import { encodeFrame, FrameDecoder } from '../protocol/framing.js';
import type { Contact, Message, PunchNow, PunchReq } from '../protocol/messages.js';
import type { Destination, PeerAddress } from '../engine/ports.js';
import { PROBE_ROLE } from './connection-manager.js';
import { normalizeHost } from './contact.js';

/** Connects to `server` from `localPort`, sends a probe Hello, and returns what the server's Hello observed. */
export function observeFrom(server: Contact, localPort: number, selfId: string, timeoutMs: number): Promise<Contact | undefined> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: server.host, port: server.port, localPort });
    const decoder = new FrameDecoder({ maxPayloadBytes: 64 * 1024 });
    let done = false;
    const finish = (c: Contact | undefined): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.end();
      setTimeout(() => socket.destroy(), 1_000).unref();
      resolve(c);
    };
    const timer = setTimeout(() => finish(undefined), timeoutMs);
    socket.on('connect', () => {
      const observed = { host: normalizeHost(socket.remoteAddress ?? ''), port: socket.remotePort ?? 0 };
      socket.write(encodeFrame({ type: 'Hello', peerId: selfId, contentId: '', contact: { host: '', port: 0 }, role: PROBE_ROLE, observed }));
    });
    socket.on('data', (chunk: Buffer) => {
      for (const m of decoder.push(chunk)) {
        if (m.type === 'Hello') return finish(m.observed.host ? { host: normalizeHost(m.observed.host), port: m.observed.port } : undefined);
      }
    });
    socket.on('error', () => finish(undefined));
    socket.on('close', () => finish(undefined));
  });
}

/** The tracker's side: punch contacts of the boxes behind NATs, and the relay of PunchNow. */
export class PunchRelay {
  private readonly contacts = new Map<string, { contact: Contact; from: PeerAddress; at: number }>();
  relayed = 0;

  constructor(private readonly opts: { selfId: string; send: (to: PeerAddress, msg: Message) => boolean; ttlMs?: number; maxEntries?: number }) {}

  handle(from: PeerAddress, req: PunchReq, now = Date.now()): void {
    if (req.peerId !== from.peerId || typeof req.target !== 'string' || typeof req.contact?.host !== 'string') return;
    // Only a contact on the address the request came from (no relaying toward third parties).
    const source = from.source;
    if (!source || normalizeHost(req.contact.host) !== normalizeHost(source.host) || !Number.isInteger(req.contact.port) || req.contact.port <= 0) return;
    if (this.contacts.size >= (this.opts.maxEntries ?? 100_000)) this.prune(now);
    this.contacts.set(from.peerId, { contact: { ...req.contact }, from: { peerId: from.peerId, contact: { ...from.contact } }, at: now });
    if (req.target === '' || req.target === from.peerId) return;
    const other = this.contacts.get(req.target);
    const fresh = other && now - other.at < (this.opts.ttlMs ?? 180_000);
    if (!other || !fresh) {
      this.opts.send(from, { type: 'PunchNow', peerId: this.opts.selfId, contentId: '', peer: req.target, contact: { host: '', port: 0 } });
      return;
    }
    this.relayed++;
    // The target first: it has the longer way (its PunchNow crosses the tracker's link last).
    this.opts.send(other.from, { type: 'PunchNow', peerId: this.opts.selfId, contentId: '', peer: from.peerId, contact: { ...req.contact } });
    this.opts.send(from, { type: 'PunchNow', peerId: this.opts.selfId, contentId: '', peer: req.target, contact: { ...other.contact } });
  }

  private prune(now: number): void {
    for (const [id, e] of this.contacts) if (now - e.at > (this.opts.ttlMs ?? 180_000)) this.contacts.delete(id);
    if (this.contacts.size >= (this.opts.maxEntries ?? 100_000)) this.contacts.clear();
  }
}

export interface HolePuncherDeps {
  peerId: string;
  punchPort: number;
  tracker: () => Destination;
  trackerContact: Contact;
  send: (to: Destination, msg: Message) => boolean;
  /** Dials `to` from the punch port; false when not dialled. */
  punch: (to: { peerId: string; contact: Contact }, localPort: number) => boolean;
  isConnected: (peerId: string) => boolean;
  /** Members behind a NAT we might partner with (ids). */
  natMembers: () => string[];
  /** Our public contact while public or mapped (for connection reversal). */
  publicContact?: () => Contact | undefined;
  /** Whether some content is short of partners (a public box then asks `nat` members to dial it). */
  wantsPartners?: () => boolean;
  warn: (code: string, message: string) => void;
  observe?: typeof observeFrom;
}

export interface PunchStats {
  punchAttempts: number;
  punchSucceeded: number;
  /** Connection reversals asked for (public/mapped box → a `nat` member dials it). */
  reversalsAsked: number;
  punchContact: string | null;
}

const REGISTER_EVERY_MS = 60_000;
const ASK_EVERY_MS = 5_000;
const DIALS = 6;
const DIAL_GAP_MS = 400;
const BACKOFF_MS = 60_000;
const MAX_TRIES_PER_PEER = 5;

/** The node's side: register, ask, dial. Active only while the node is `nat`. */
export class HolePuncher {
  private contact: Contact | undefined;
  private nextRegisterAt = 0;
  private nextAskAt = 0;
  private observing = false;
  private readonly tries = new Map<string, { count: number; notBefore: number }>();
  /** Punches under way: peer → remaining dials and when the next goes. */
  private readonly active = new Map<string, { contact: Contact; left: number; nextAt: number; counted: boolean }>();
  private attempts = 0;
  private succeeded = 0;
  private reversals = 0;
  /** 'punch' while behind a NAT, 'reverse' while public or mapped, else 'off'. */
  mode: 'punch' | 'reverse' | 'off' = 'off';

  get enabled(): boolean {
    return this.mode === 'punch';
  }

  constructor(private readonly deps: HolePuncherDeps) {}

  stats(): PunchStats {
    return { punchAttempts: this.attempts, punchSucceeded: this.succeeded, reversalsAsked: this.reversals, punchContact: this.contact ? `${this.contact.host}:${this.contact.port}` : null };
  }

  /** How many times we asked the tracker to connect us with this peer (punch or reversal). */
  asked(peerId: string): number {
    return this.tries.get(peerId)?.count ?? 0;
  }

  onPunchNow(from: PeerAddress, msg: PunchNow, now = Date.now()): void {
    if (!this.enabled || typeof msg.peer !== 'string' || msg.peer === '' || msg.peer === this.deps.peerId) return;
    if (!msg.contact?.host) return; // the tracker does not know the other side's punch contact
    if (this.deps.isConnected(msg.peer) || this.active.has(msg.peer)) return;
    this.attempts++;
    this.active.set(msg.peer, { contact: { ...msg.contact }, left: DIALS, nextAt: now, counted: false });
    this.tick(now);
  }

  tick(now: number): void {
    for (const [peer, p] of this.active) {
      if (this.deps.isConnected(peer)) {
        if (!p.counted) this.succeeded++;
        this.active.delete(peer);
        continue;
      }
      if (now < p.nextAt) continue;
      if (p.left <= 0) {
        this.active.delete(peer);
        continue;
      }
      p.left--;
      p.nextAt = now + DIAL_GAP_MS;
      this.deps.punch({ peerId: peer, contact: p.contact }, this.deps.punchPort);
    }
    if (this.mode === 'reverse') return this.reverse(now);
    if (!this.enabled) return;
    if (now >= this.nextRegisterAt && !this.observing) {
      this.nextRegisterAt = now + REGISTER_EVERY_MS;
      this.register();
      return;
    }
    if (!this.contact || now < this.nextAskAt) return;
    this.nextAskAt = now + ASK_EVERY_MS;
    const target = this.pickTarget(now);
    if (!target) return;
    this.ask(target, this.contact, now);
  }

  /** A public/mapped box short of partners: a `nat` member is asked (through the tracker) to dial us. */
  private reverse(now: number): void {
    const contact = this.deps.publicContact?.();
    if (!contact || now < this.nextAskAt || !this.deps.wantsPartners?.()) return;
    this.nextAskAt = now + ASK_EVERY_MS;
    const target = this.pickTarget(now);
    if (!target) return;
    this.reversals++;
    this.ask(target, contact, now);
  }

  private pickTarget(now: number): string | undefined {
    return this.deps.natMembers().find((id) => {
      if (id === this.deps.peerId || this.deps.isConnected(id) || this.active.has(id)) return false;
      const t = this.tries.get(id);
      return !t || (t.count < MAX_TRIES_PER_PEER && now >= t.notBefore);
    });
  }

  private ask(target: string, contact: Contact, now: number): void {
    const t = this.tries.get(target) ?? { count: 0, notBefore: 0 };
    t.count++;
    t.notBefore = now + BACKOFF_MS * t.count;
    this.tries.set(target, t);
    this.deps.send(this.deps.tracker(), { type: 'PunchReq', peerId: this.deps.peerId, contentId: '', target, contact: { ...contact } });
  }

  /** Learns the punch port's public mapping from the tracker, then registers it. */
  private register(): void {
    this.observing = true;
    const observe = this.deps.observe ?? observeFrom;
    void observe(this.deps.trackerContact, this.deps.punchPort, this.deps.peerId, 3_000).then((c) => {
      this.observing = false;
      if (!c) {
        this.deps.warn('punch-observe-failed', `could not learn the public address of punch port ${this.deps.punchPort} from the tracker; hole punching waits`);
        this.nextRegisterAt = Date.now() + 10_000;
        return;
      }
      this.contact = c;
      this.deps.send(this.deps.tracker(), { type: 'PunchReq', peerId: this.deps.peerId, contentId: '', target: '', contact: { ...c } });
    });
  }
}
