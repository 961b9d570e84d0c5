// The engine's Transport over TCP: one persistent connection per peer pair, reused both ways.
//
// Routing of send(to): the connection of to.peerId if there is one; else an open connection whose
// peer's Hello contact equals to.contact; else an outgoing dial to to.contact already under way
// (the message waits in its pre-Hello queue); else a new dial. A Destination without peerId is thus
// resolved by the Hello contact (the peer's listen address), never by the TCP source address.
//
// Duplicate connections (simultaneous dial, aliases) are settled by tie-break.ts on both ends; the
// loser is ended gracefully (its queued messages move to the survivor, both ends keep reading it
// until it closes), so nothing already written is lost. Because a loser's FIN can overtake the
// winner's Hello, a peer whose only connection is ended gracefully by the remote, on a connection a
// tie-break would have retired, while another connection is still in its handshake, is held for
// helloTimeoutMs (messages queue) before onPeerDisconnected fires ("handover").
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Destination, PeerAddress, Transport } from '../engine/ports.js';
import { encodeFrame, FRAME_OVERHEAD_BYTES } from '../protocol/framing.js';
import type { Contact, Message } from '../protocol/messages.js';
import { contactKey, formatContact, isUnspecifiedHost, normalizeHost, sameContact } from './contact.js';
import {
  DEFAULT_HOSTILE_LIMITS, tickIntervalMs, validateNetLimits, WARNING_SUMMARY_INTERVAL_MS,
  type HostileLimits, type NetLimits,
} from './net-limits.js';
import { addDecoderStats, newDecoderStats, newManagerCounters, type NetStats } from './net-stats.js';
import { PeerConnection, type ConnectionContext, type RemotePeer } from './peer-connection.js';
import { chooseSurvivors } from './tie-break.js';
import { WarningLimiter, type NetWarning } from './warning-limiter.js';

export { DEFAULT_HOSTILE_LIMITS, DEFAULT_NET_LIMITS, type HostileLimits, type NetLimits } from './net-limits.js';
export type { NetStats } from './net-stats.js';
export type { NetWarning } from './warning-limiter.js';

export interface ConnectionManagerOptions {
  self: { peerId: string; contact: Contact; role: string };
  limits: NetLimits;
  /** When a connection is closed as hostile (defaults: DEFAULT_HOSTILE_LIMITS). */
  hostile?: Partial<HostileLimits>;
  clock?: () => number;
  /** Every message after the Hello (Hello and KeepAlive stay inside the transport). */
  onMessage: (from: PeerAddress, msg: Message) => void;
  onPeerConnected?: (p: PeerAddress) => void;
  onPeerDisconnected?: (peerId: string, reason: string) => void;
  onWarning?: (w: NetWarning) => void;
}

interface Handover {
  address: PeerAddress;
  reason: string;
  deadline: number;
  queue: Buffer[];
  bytes: number;
}

export class ConnectionManager implements Transport {
  private readonly limits: NetLimits;
  private readonly clock: () => number;
  private readonly ctx: ConnectionContext;
  private readonly warnings: WarningLimiter;
  private readonly conns = new Set<PeerConnection>();
  /** Connections with a completed Hello that may carry sends, per peer (newest last). */
  private readonly candidates = new Map<string, PeerConnection[]>();
  /** Outgoing dials before their Hello, by dialled contact. */
  private readonly dialing = new Map<string, PeerConnection>();
  private readonly handovers = new Map<string, Handover>();
  /** Peers reported by onPeerConnected and not yet by onPeerDisconnected. */
  private readonly connected = new Map<string, PeerAddress>();
  private readonly counters = newManagerCounters();
  private readonly pastDecoders = newDecoderStats();
  private advertised: Contact;
  private server: net.Server | undefined;
  private readonly timer: NodeJS.Timeout;
  private closing: Promise<void> | undefined;
  private nextOrder = 0;
  private lastWarnFlush: number;

  constructor(private readonly opts: ConnectionManagerOptions) {
    if (!opts.self.peerId) throw new RangeError('ConnectionManager self.peerId: must not be empty');
    this.limits = validateNetLimits({ ...opts.limits });
    this.clock = opts.clock ?? Date.now;
    this.advertised = { ...opts.self.contact };
    this.lastWarnFlush = this.clock();
    this.warnings = new WarningLimiter((w) => this.emitWarning(w), () => `transport '${opts.self.peerId}'`);
    const selfId = opts.self.peerId;
    this.ctx = {
      selfId,
      limits: this.limits,
      hostile: { ...DEFAULT_HOSTILE_LIMITS, ...opts.hostile },
      clock: this.clock,
      counters: this.counters,
      helloFrame: () => encodeFrame({ type: 'Hello', peerId: selfId, contentId: '', contact: this.advertised, role: opts.self.role }),
      keepAliveFrame: encodeFrame({ type: 'KeepAlive', peerId: selfId, contentId: '' }),
      hooks: {
        hello: (c, r) => this.onHello(c, r),
        message: (c, m) => this.deliver(c, m),
        detached: (c, reason, graceful) => this.onDetached(c, reason, graceful),
        closed: (c) => this.onClosed(c),
        warning: (w) => this.emitWarning(w),
      },
    };
    this.timer = setInterval(() => this.tick(), tickIntervalMs(this.limits));
    this.timer.unref();
  }

  /** The contact our Hello advertises (configured contact, completed by listen()). */
  get contact(): Contact {
    return { ...this.advertised };
  }

  /**
   * Accepts peers on host:port (0 = ephemeral) and returns the bound address. The advertised
   * contact takes the bound port when the configured one is 0, and the bound host when the
   * configured one is empty or unspecified (0.0.0.0 / ::; peers then use our socket address).
   */
  async listen(host: string, port: number): Promise<Contact> {
    if (this.closing) throw new Error('ConnectionManager is closed');
    if (this.server) throw new Error('ConnectionManager is already listening');
    const server = net.createServer((s) => this.accept(s));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    }).catch((e: unknown) => {
      this.server = undefined;
      throw new Error(`cannot listen on ${formatContact({ host, port })}: ${e instanceof Error ? e.message : String(e)}`);
    });
    server.on('error', (e) => this.warnings.report('server-error', `listening socket: ${e.message}`));
    const a = server.address() as AddressInfo;
    const bound = { host: normalizeHost(a.address), port: a.port };
    const cfg = this.opts.self.contact;
    this.advertised = { host: isUnspecifiedHost(cfg.host) ? bound.host : cfg.host, port: cfg.port === 0 ? bound.port : cfg.port };
    return bound;
  }

  send(to: Destination, msg: Message): boolean {
    if (this.closing) return this.drop();
    let frame: Buffer;
    try {
      frame = encodeFrame(msg);
    } catch (e) {
      this.warnings.report('encode-failed', `${msg.type} not sent: ${e instanceof Error ? e.message : String(e)}`, to.peerId);
      return this.drop();
    }
    if (frame.length - FRAME_OVERHEAD_BYTES > this.limits.maxPayloadBytes) {
      this.warnings.report('message-too-large', `${msg.type} of ${frame.length} bytes exceeds maxPayloadBytes`, to.peerId);
      return this.drop();
    }
    const id = to.peerId;
    if (id === this.opts.self.peerId || (id === undefined && this.isSelfContact(to.contact))) {
      this.warnings.report('send-to-self', `${msg.type} addressed to ourselves dropped`);
      return this.drop();
    }
    const byId = id !== undefined ? this.primary(id) : undefined;
    if (byId) return byId.write(frame);
    const held = id !== undefined ? this.handovers.get(id) : undefined;
    if (held) return this.hold(held, frame);
    const byContact = this.primaryByContact(to.contact);
    if (byContact) return byContact.write(frame);
    const heldByContact = [...this.handovers.values()].find((h) => sameContact(h.address.contact, to.contact));
    if (heldByContact) return this.hold(heldByContact, frame);
    const dial = this.dialing.get(contactKey(to.contact))
      ?? (id !== undefined ? [...this.dialing.values()].find((c) => c.dial?.expectedPeerId === id) : undefined);
    if (dial) return dial.enqueue(frame);
    return this.dial(to, frame);
  }

  disconnect(peerId: string): void {
    const list = this.candidates.get(peerId) ?? [];
    this.candidates.delete(peerId);
    for (const c of list) c.end('local-disconnect');
    for (const c of [...this.dialing.values()]) if (c.dial?.expectedPeerId === peerId) c.destroy('local-disconnect');
    const h = this.handovers.get(peerId);
    if (h) {
      this.handovers.delete(peerId);
      this.counters.droppedSends += h.queue.length;
    }
    this.peerLost(peerId, 'local-disconnect');
  }

  connectedPeers(): PeerAddress[] {
    return [...this.connected.values()].map((p) => ({ peerId: p.peerId, contact: { ...p.contact } }));
  }

  stats(): NetStats {
    const decoder = { ...this.pastDecoders };
    let queued = 0;
    for (const c of this.conns) {
      queued += c.queuedBytes;
      addDecoderStats(decoder, c.decoderStats);
    }
    for (const h of this.handovers.values()) queued += h.bytes;
    return { ...this.counters, ...decoder, connections: this.conns.size, peers: this.connected.size, queuedBytes: queued };
  }

  /** Closes the listener and every connection (onPeerDisconnected 'shutdown'); resolves when all are gone. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  // ---- routing ----

  private primary(peerId: string): PeerConnection | undefined {
    const list = this.candidates.get(peerId);
    return list?.[list.length - 1];
  }

  private primaryByContact(contact: Contact): PeerConnection | undefined {
    for (const list of this.candidates.values()) {
      const c = list[list.length - 1];
      if (c?.remote && sameContact(c.remote.contact, contact)) return c;
    }
    return undefined;
  }

  private isSelfContact(c: Contact): boolean {
    return this.advertised.port !== 0 && !isUnspecifiedHost(this.advertised.host) && sameContact(c, this.advertised);
  }

  private hold(h: Handover, frame: Buffer): boolean {
    if (h.bytes + frame.length > this.limits.maxQueueBytes) return this.drop();
    h.queue.push(frame);
    h.bytes += frame.length;
    return true;
  }

  private drop(): false {
    this.counters.droppedSends++;
    return false;
  }

  private dial(to: Destination, frame: Buffer): boolean {
    if (this.conns.size >= this.limits.maxConnections) {
      this.warnings.report('connection-limit', `not dialling ${formatContact(to.contact)}: ${this.conns.size} connections (limit ${this.limits.maxConnections})`, to.peerId);
      return this.drop();
    }
    let socket: net.Socket;
    try {
      socket = net.connect({ host: to.contact.host, port: to.contact.port });
    } catch (e) {
      this.warnings.report('bad-contact', `cannot dial ${formatContact(to.contact)}: ${e instanceof Error ? e.message : String(e)}`, to.peerId);
      return this.drop();
    }
    socket.on('error', () => undefined); // until PeerConnection takes over error handling
    const dial = { contact: { ...to.contact }, ...(to.peerId !== undefined ? { expectedPeerId: to.peerId } : {}) };
    const c = new PeerConnection(socket, 'out', this.ctx, this.nextOrder++, dial);
    this.conns.add(c);
    this.dialing.set(contactKey(to.contact), c);
    return c.enqueue(frame);
  }

  private accept(socket: net.Socket): void {
    socket.on('error', () => undefined); // until PeerConnection takes over error handling
    if (this.closing || this.conns.size >= this.limits.maxConnections) {
      socket.destroy();
      this.counters.refused++;
      this.warnings.report('connection-refused', `refused incoming connection from ${socket.remoteAddress ?? '?'}: ${this.conns.size} connections (limit ${this.limits.maxConnections})`);
      return;
    }
    this.conns.add(new PeerConnection(socket, 'in', this.ctx, this.nextOrder++));
  }

  // ---- connection events ----

  private onHello(c: PeerConnection, remote: RemotePeer): void {
    const id = remote.peerId;
    if (c.dial) {
      const key = contactKey(c.dial.contact);
      if (this.dialing.get(key) === c) this.dialing.delete(key);
    }
    if (id === this.opts.self.peerId) {
      this.warnings.report('self-connection', `connection to ourselves (${c.describe()}) closed`);
      c.destroy('self-connection');
      return;
    }
    if (c.dial?.expectedPeerId !== undefined && c.dial.expectedPeerId !== id) {
      this.warnings.report('peer-id-mismatch', `dialled '${c.dial.expectedPeerId}' at ${formatContact(c.dial.contact)} but '${id}' answered`, id);
    }
    const list = [...(this.candidates.get(id) ?? []), c];
    const verdict = chooseSurvivors(this.opts.self.peerId, id, list.map((conn) => ({ initiator: conn.initiator ?? '', order: conn.order, conn })));
    const keep = verdict.keep.map((k) => k.conn);
    this.candidates.set(id, keep);
    const moved: Buffer[] = [];
    for (const r of verdict.retire) {
      moved.push(...r.conn.takePending());
      r.conn.retire();
    }
    const held = this.handovers.get(id);
    if (held) {
      this.handovers.delete(id);
      moved.push(...held.queue);
    }
    if (!this.connected.has(id)) {
      const address = { peerId: id, contact: { ...remote.contact } };
      this.connected.set(id, address);
      this.safely('onPeerConnected', () => this.opts.onPeerConnected?.(address));
    }
    const primary = this.primary(id);
    for (const k of keep) for (const f of k.takePending()) k.write(f);
    if (primary) for (const f of moved) primary.write(f);
    else this.counters.droppedSends += moved.length;
  }

  private deliver(c: PeerConnection, msg: Message): void {
    const r = c.remote;
    if (!r) return;
    this.safely('onMessage', () => this.opts.onMessage({ peerId: r.peerId, contact: { ...r.contact } }, msg));
  }

  private onDetached(c: PeerConnection, reason: string, graceful: boolean): void {
    if (c.dial) {
      const key = contactKey(c.dial.contact);
      if (this.dialing.get(key) === c) this.dialing.delete(key);
    }
    this.counters.droppedSends += c.takePending().length;
    if (reason === 'slow-peer') this.counters.slowPeersClosed++;
    else if (reason === 'hostile') this.counters.hostileClosed++;
    else if (reason === 'idle') this.counters.idleClosed++;
    else if (reason === 'hello-timeout') this.counters.helloTimeouts++;
    if (!c.remote) {
      if (c.direction === 'out' && reason !== 'shutdown' && reason !== 'local-disconnect') {
        this.warnings.report('connect-failed', `${c.describe()} failed before Hello: ${reason}`, c.dial?.expectedPeerId);
      }
      return;
    }
    const id = c.remote.peerId;
    const list = this.candidates.get(id);
    const at = list ? list.indexOf(c) : -1;
    if (!list || at < 0) return; // retired by a tie-break, or already given up locally
    list.splice(at, 1);
    if (list.length > 0) return; // another connection to this peer carries on
    this.candidates.delete(id);
    const self = this.opts.self.peerId;
    const wouldLose = c.initiator === (self > id ? self : id);
    const handshaking = [...this.conns].some((o) => o.state === 'connecting' || o.state === 'handshake');
    if (graceful && reason === 'remote-closed' && wouldLose && handshaking) {
      const address = this.connected.get(id) ?? { peerId: id, contact: { ...c.remote.contact } };
      this.handovers.set(id, { address, reason, deadline: this.clock() + this.limits.helloTimeoutMs, queue: [], bytes: 0 });
      return;
    }
    this.peerLost(id, reason);
  }

  private onClosed(c: PeerConnection): void {
    this.conns.delete(c);
    addDecoderStats(this.pastDecoders, c.decoderStats);
  }

  private peerLost(peerId: string, reason: string): void {
    if (!this.connected.delete(peerId)) return;
    this.safely('onPeerDisconnected', () => this.opts.onPeerDisconnected?.(peerId, reason));
  }

  // ---- housekeeping ----

  private tick(): void {
    const now = this.clock();
    for (const c of [...this.conns]) c.tick(now);
    for (const [id, h] of [...this.handovers]) {
      if (now < h.deadline) continue;
      this.handovers.delete(id);
      this.counters.droppedSends += h.queue.length;
      this.peerLost(id, h.reason);
    }
    if (now - this.lastWarnFlush >= WARNING_SUMMARY_INTERVAL_MS) {
      this.lastWarnFlush = now;
      this.warnings.flush();
    }
  }

  private async shutdown(): Promise<void> {
    clearInterval(this.timer);
    const all = [...this.conns];
    this.candidates.clear();
    this.dialing.clear();
    for (const h of this.handovers.values()) this.counters.droppedSends += h.queue.length;
    this.handovers.clear();
    for (const c of all) c.destroy('shutdown');
    for (const id of [...this.connected.keys()]) this.peerLost(id, 'shutdown');
    this.warnings.flush();
    const server = this.server;
    const serverClosed = server
      ? new Promise<void>((resolve) => server.close(() => resolve()))
      : Promise.resolve();
    await Promise.all([serverClosed, ...all.map((c) => c.whenClosed)]);
  }

  private emitWarning(w: NetWarning): void {
    try {
      this.opts.onWarning?.(w);
    } catch {
      // A throwing warning sink must not break the transport.
    }
  }

  private safely(what: string, fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.warnings.report('handler-error', `${what} handler threw: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
}
