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
import type { Destination, PeerAddress, Transport } from '../engine/ports.js';
import { encodeFrame, FRAME_OVERHEAD_BYTES } from '../protocol/framing.js';
import type { Contact, Message } from '../protocol/messages.js';
import { ConnectionAdmission } from './connection-admission.js';
import { formatContact, isUnspecifiedHost, sameContact } from './contact.js';
import {
  DEFAULT_HOSTILE_LIMITS, pickNetLimits, tickIntervalMs, validateNetLimits, WARNING_SUMMARY_INTERVAL_MS,
  type HostileLimits, type NetLimits,
} from './net-limits.js';
import { addDecoderStats, newDecoderStats, newManagerCounters, type NetStats } from './net-stats.js';
import type { ConnectionContext, PeerConnection, RemotePeer } from './peer-connection.js';
import { PeerRoutes, type Handover } from './peer-routes.js';
import { advertisedContact, bindServer, closeServer } from './tcp-sockets.js';
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
  /**
   * A peer's Hello said how it sees us (our observed address); host '' never reported. `dialled` is
   * where we dialled when the connection is ours (a Hello's claims are the peer's; this is not).
   */
  onObserved?: (from: { peerId: string; role: string; dialled?: Contact }, observed: Contact) => void;
}

/** Hello role of a dial-back test (src/net/dial-back.ts): answered with our Hello, never a peer. */
export const PROBE_ROLE = 'probe';

export class ConnectionManager implements Transport {
  private readonly limits: NetLimits;
  private readonly clock: () => number;
  private readonly ctx: ConnectionContext;
  private readonly warnings: WarningLimiter;
  private readonly routes = new PeerRoutes();
  private readonly admission: ConnectionAdmission;
  private readonly counters = newManagerCounters();
  private readonly pastDecoders = newDecoderStats();
  private advertised: Contact;
  private server: net.Server | undefined;
  private readonly timer: NodeJS.Timeout;
  private closing: Promise<void> | undefined;
  private lastWarnFlush: number;

  constructor(private readonly opts: ConnectionManagerOptions) {
    if (!opts.self.peerId) throw new RangeError('ConnectionManager self.peerId: must not be empty');
    this.limits = validateNetLimits(pickNetLimits(opts.limits));
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
      helloFrame: (observed) => encodeFrame({ type: 'Hello', peerId: selfId, contentId: '', contact: this.advertised, role: opts.self.role, observed }),
      keepAliveFrame: encodeFrame({ type: 'KeepAlive', peerId: selfId, contentId: '' }),
      hooks: {
        hello: (c, r) => this.onHello(c, r),
        message: (c, m) => this.deliver(c, m),
        detached: (c, reason, graceful) => this.onDetached(c, reason, graceful),
        closed: (c) => this.onClosed(c),
        warning: (w) => this.emitWarning(w),
      },
    };
    this.admission = new ConnectionAdmission(this.ctx, this.routes, this.warnings, this.counters);
    this.timer = setInterval(() => this.tick(), tickIntervalMs(this.limits));
    this.timer.unref();
  }

  /** The contact our Hello advertises (configured contact, completed by listen()). */
  get contact(): Contact {
    return { ...this.advertised };
  }

  /** Changes the contact our Hellos advertise from now on (a port mapping, a new public address). */
  setAdvertised(contact: Contact): void {
    this.advertised = { ...contact };
  }

  /**
   * Accepts peers on host:port (0 = ephemeral) and returns the bound address. The advertised
   * contact takes the bound port when the configured one is 0, and the bound host when the
   * configured one is empty or unspecified (0.0.0.0 / ::; peers then use our socket address).
   */
  async listen(host: string, port: number): Promise<Contact> {
    if (this.closing) throw new Error('ConnectionManager is closed');
    if (this.server) throw new Error('ConnectionManager is already listening');
    const server = net.createServer((s) => this.admission.accept(s, this.closing !== undefined));
    this.server = server;
    let bound: Contact;
    try {
      bound = await bindServer(server, host, port);
    } catch (e) {
      this.server = undefined;
      throw e;
    }
    server.on('error', (e) => this.warnings.report('server-error', `listening socket: ${e.message}`));
    this.advertised = advertisedContact(this.opts.self.contact, bound);
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
    const r = this.routes;
    const byId = id !== undefined ? r.primary(id) : undefined;
    if (byId) return byId.write(frame);
    const held = id !== undefined ? r.handovers.get(id) : undefined;
    if (held) return this.hold(held, frame);
    const byContact = r.primaryByContact(to.contact);
    if (byContact) return byContact.write(frame);
    const heldByContact = r.handoverByContact(to.contact);
    if (heldByContact) return this.hold(heldByContact, frame);
    const dial = r.pendingDial(to);
    if (dial) return dial.enqueue(frame);
    return this.dial(to, frame);
  }

  /** Whether a peer's Hello completed on some connection. */
  isConnected(peerId: string): boolean {
    return this.routes.connected.has(peerId);
  }

  /**
   * Hole punching: dials `to` from `localPort` (the other side does the same at once: TCP
   * simultaneous open). Nothing is queued on it; false when not dialled (connected already, closing,
   * connection limit).
   */
  punch(to: { peerId: string; contact: Contact }, localPort: number): boolean {
    if (this.closing || this.routes.connected.has(to.peerId)) return false;
    return this.admission.dial(to, localPort) !== undefined;
  }

  disconnect(peerId: string): void {
    const list = this.routes.candidates.get(peerId) ?? [];
    this.routes.candidates.delete(peerId);
    for (const c of list) c.end('local-disconnect');
    for (const c of this.routes.dialsTo(peerId)) c.destroy('local-disconnect');
    this.dropHandover(peerId);
    this.peerLost(peerId, 'local-disconnect');
  }

  connectedPeers(): PeerAddress[] {
    return [...this.routes.connected.values()].map((p) => ({ peerId: p.peerId, contact: { ...p.contact } }));
  }

  stats(): NetStats {
    const decoder = { ...this.pastDecoders };
    for (const c of this.routes.conns) addDecoderStats(decoder, c.decoderStats);
    return {
      ...this.counters,
      ...decoder,
      connections: this.routes.conns.size,
      peers: this.routes.connected.size,
      queuedBytes: this.routes.queuedBytes(),
    };
  }

  /** Closes the listener and every connection (onPeerDisconnected 'shutdown'); resolves when all are gone. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  // ---- routing ----

  private isSelfContact(c: Contact): boolean {
    return this.advertised.port !== 0 && !isUnspecifiedHost(this.advertised.host) && sameContact(c, this.advertised);
  }

  private hold(h: Handover, frame: Buffer): boolean {
    return PeerRoutes.hold(h, frame, this.limits.maxQueueBytes) || this.drop();
  }

  private drop(): false {
    this.counters.droppedSends++;
    return false;
  }

  /** Ends a peer's handover, counting its queued sends as dropped. */
  private dropHandover(peerId: string): void {
    const h = this.routes.handovers.get(peerId);
    if (!h) return;
    this.routes.handovers.delete(peerId);
    this.counters.droppedSends += h.queue.length;
  }

  private dial(to: Destination, frame: Buffer): boolean {
    const c = this.admission.dial(to);
    return c ? c.enqueue(frame) : this.drop();
  }

  // ---- connection events ----

  private onHello(c: PeerConnection, remote: RemotePeer): void {
    const id = remote.peerId;
    this.routes.forgetDial(c);
    if (remote.role === PROBE_ROLE && c.direction === 'in') {
      // A dial-back test: it has our Hello (sent on accept), which is all it wanted.
      this.counters.probesAnswered++;
      c.end('probe');
      return;
    }
    if (remote.observed.host !== '') {
      const observed = { ...remote.observed };
      const from = { peerId: id, role: remote.role, ...(c.dial ? { dialled: { ...c.dial.contact } } : {}) };
      this.safely('onObserved', () => this.opts.onObserved?.(from, observed));
    }
    if (id === this.opts.self.peerId) {
      this.warnings.report('self-connection', `connection to ourselves (${c.describe()}) closed`);
      c.destroy('self-connection');
      return;
    }
    if (c.dial?.expectedPeerId !== undefined && c.dial.expectedPeerId !== id) {
      this.warnings.report('peer-id-mismatch', `dialled '${c.dial.expectedPeerId}' at ${formatContact(c.dial.contact)} but '${id}' answered`, id);
    }
    const list = [...(this.routes.candidates.get(id) ?? []), c];
    const verdict = chooseSurvivors(this.opts.self.peerId, id, list.map((conn) => ({ initiator: conn.initiator ?? '', order: conn.order, conn })));
    const keep = verdict.keep.map((k) => k.conn);
    this.routes.candidates.set(id, keep);
    const moved: Buffer[] = [];
    for (const r of verdict.retire) {
      moved.push(...r.conn.takePending());
      r.conn.retire();
    }
    const held = this.routes.handovers.get(id);
    if (held) {
      this.routes.handovers.delete(id);
      moved.push(...held.queue);
    }
    if (!this.routes.connected.has(id)) {
      const address = { peerId: id, contact: { ...remote.contact } };
      this.routes.connected.set(id, address);
      this.safely('onPeerConnected', () => this.opts.onPeerConnected?.(address));
    }
    const primary = this.routes.primary(id);
    for (const k of keep) for (const f of k.takePending()) k.write(f);
    if (primary) for (const f of moved) primary.write(f);
    else this.counters.droppedSends += moved.length;
  }

  private deliver(c: PeerConnection, msg: Message): void {
    const r = c.remote;
    if (!r) return;
    this.safely('onMessage', () => this.opts.onMessage({ peerId: r.peerId, contact: { ...r.contact }, source: { ...r.source } }, msg));
  }

  private onDetached(c: PeerConnection, reason: string, graceful: boolean): void {
    this.routes.forgetDial(c);
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
    // 'absent': retired by a tie-break, or already given up locally; 'others': another connection carries on.
    if (this.routes.removeCandidate(id, c) !== 'last') return;
    const self = this.opts.self.peerId;
    const wouldLose = c.initiator === (self > id ? self : id);
    if (graceful && reason === 'remote-closed' && wouldLose && this.routes.anyHandshaking()) {
      const address = this.routes.connected.get(id) ?? { peerId: id, contact: { ...c.remote.contact } };
      this.routes.handovers.set(id, { address, reason, deadline: this.clock() + this.limits.helloTimeoutMs, queue: [], bytes: 0 });
      return;
    }
    this.peerLost(id, reason);
  }

  private onClosed(c: PeerConnection): void {
    this.routes.conns.delete(c);
    addDecoderStats(this.pastDecoders, c.decoderStats);
  }

  private peerLost(peerId: string, reason: string): void {
    if (!this.routes.connected.delete(peerId)) return;
    this.safely('onPeerDisconnected', () => this.opts.onPeerDisconnected?.(peerId, reason));
  }

  // ---- housekeeping ----

  private tick(): void {
    const now = this.clock();
    for (const c of [...this.routes.conns]) c.tick(now);
    for (const [id, h] of [...this.routes.handovers]) {
      if (now < h.deadline) continue;
      this.dropHandover(id);
      this.peerLost(id, h.reason);
    }
    if (now - this.lastWarnFlush >= WARNING_SUMMARY_INTERVAL_MS) {
      this.lastWarnFlush = now;
      this.warnings.flush();
    }
  }

  private async shutdown(): Promise<void> {
    clearInterval(this.timer);
    const r = this.routes;
    const all = [...r.conns];
    r.candidates.clear();
    r.dialing.clear();
    for (const id of [...r.handovers.keys()]) this.dropHandover(id);
    for (const c of all) c.destroy('shutdown');
    for (const id of [...r.connected.keys()]) this.peerLost(id, 'shutdown');
    this.warnings.flush();
    await Promise.all([closeServer(this.server), ...all.map((c) => c.whenClosed)]);
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
