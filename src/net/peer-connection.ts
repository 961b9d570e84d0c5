// One TCP connection to a peer: Hello handshake, framing, sender-id checks, a bounded send queue,
// and the per-connection timers (connect, Hello, keep-alive, idle, slow peer), driven by tick().
// Policy across connections (which one to use, tie-breaks, peer events) is the manager's.
import type { Socket } from 'node:net';
import { FrameDecoder, type FrameDecoderStats, type FrameError } from '../protocol/framing.js';
import type { Contact, Hello, Message } from '../protocol/messages.js';
import type { NetCounters } from './net-stats.js';
import { formatContact, isUnspecifiedHost, normalizeHost } from './contact.js';
import type { HostileLimits, NetLimits } from './net-limits.js';
import { WARNING_SUMMARY_INTERVAL_MS } from './net-limits.js';
import { WarningLimiter, type NetWarning } from './warning-limiter.js';

/**
 * connecting: outgoing TCP connect in progress; handshake: TCP up, our Hello sent, theirs awaited;
 * open: both Hellos done; retiring: lost a tie-break, our side ended, still reading until the peer
 * closes; closing: closed locally (disconnect), ended, no longer delivering; closed: socket gone.
 */
export type ConnectionState = 'connecting' | 'handshake' | 'open' | 'retiring' | 'closing' | 'closed';

export interface RemotePeer {
  peerId: string;
  /** The peer's listen address from its Hello (host replaced by the socket address if unspecified). */
  contact: Contact;
  role: string;
  /** Our address:port as the peer's socket sees it (from its Hello; host '' when it did not say). */
  observed: Contact;
  /** The peer's TCP source address:port as our socket sees it. */
  source: Contact;
}

export interface ConnectionHooks {
  /** The peer's Hello arrived (state is now 'open'). */
  hello(c: PeerConnection, remote: RemotePeer): void;
  /** A message from the Hello's peer (Hello and KeepAlive are handled here and not passed on). */
  message(c: PeerConnection, msg: Message): void;
  /**
   * Called exactly once when the connection stops being usable for sending: remote end (graceful),
   * socket error/close, or a local end()/destroy() (with the reason given).
   */
  detached(c: PeerConnection, reason: string, graceful: boolean): void;
  /** The socket is fully closed (after detached). */
  closed(c: PeerConnection): void;
  warning(w: NetWarning): void;
}

export interface ConnectionContext {
  selfId: string;
  limits: NetLimits;
  hostile: HostileLimits;
  clock: () => number;
  counters: NetCounters;
  /** Our Hello, encoded with the current advertised contact and what we see of the peer. */
  helloFrame: (observed: Contact) => Buffer;
  keepAliveFrame: Buffer;
  hooks: ConnectionHooks;
}

export class PeerConnection {
  readonly decoder: FrameDecoder;
  state: ConnectionState;
  remote: RemotePeer | undefined;
  /** Why it is going away (first reason wins). */
  reason: string | undefined;
  private readonly warnings: WarningLimiter;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private readonly createdAt: number;
  private connectedAt: number;
  private lastRecvAt: number;
  private lastSentAt: number;
  private endedAt = 0;
  private lastWarnFlush: number;
  private queueFullSince: number | undefined;
  private detachedOnce = false;
  readonly whenClosed: Promise<void>;

  constructor(
    readonly socket: Socket,
    readonly direction: 'in' | 'out',
    private readonly ctx: ConnectionContext,
    /** Creation order on this side (tie-breaks among connections initiated by the same side). */
    readonly order: number,
    /** For outgoing dials: where we dialled and whom we expected there. */
    readonly dial?: { contact: Contact; expectedPeerId?: string },
  ) {
    const now = ctx.clock();
    this.createdAt = this.connectedAt = this.lastRecvAt = this.lastSentAt = this.lastWarnFlush = now;
    this.warnings = new WarningLimiter((w) => ctx.hooks.warning(w), () => this.describe());
    this.decoder = new FrameDecoder({
      maxPayloadBytes: ctx.limits.maxPayloadBytes,
      onError: (e) => this.onFrameError(e),
    });
    socket.setNoDelay(true);
    let resolveClosed!: () => void;
    this.whenClosed = new Promise((r) => { resolveClosed = r; });
    socket.on('error', (e: NodeJS.ErrnoException) => {
      this.reason ??= `error:${e.code ?? e.message}`;
    });
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => this.detach('remote-closed', true));
    socket.on('close', () => {
      this.state = 'closed';
      this.detach(this.reason ?? 'closed', false);
      this.warnings.flush(this.remote?.peerId);
      ctx.hooks.closed(this);
      resolveClosed();
    });
    if (direction === 'out') {
      this.state = 'connecting';
      socket.on('connect', () => {
        if (this.state !== 'connecting') return;
        this.state = 'handshake';
        this.connectedAt = ctx.clock();
        this.writeRaw(ctx.helloFrame(this.source()));
      });
    } else {
      this.state = 'handshake';
      this.writeRaw(ctx.helloFrame(this.source()));
    }
  }

  /** The far end of the socket (the peer's address as we see it); host '' before it is known. */
  source(): Contact {
    const host = this.socket.remoteAddress;
    const port = this.socket.remotePort;
    return host !== undefined && port !== undefined ? { host: normalizeHost(host), port } : { host: '', port: 0 };
  }

  /** Peer id of the side that opened the connection (known once the Hello arrived). */
  get initiator(): string | undefined {
    return this.direction === 'out' ? this.ctx.selfId : this.remote?.peerId;
  }

  /** Bytes waiting to go out: the socket's buffer plus the pre-Hello queue. */
  get queuedBytes(): number {
    return (this.socket.destroyed ? 0 : this.socket.writableLength) + this.pendingBytes;
  }

  get decoderStats(): FrameDecoderStats {
    return this.decoder.stats;
  }

  describe(): string {
    const who = this.remote?.peerId ?? this.dial?.expectedPeerId;
    const where = this.dial ? formatContact(this.dial.contact) : `${this.socket.remoteAddress ?? '?'}:${this.socket.remotePort ?? '?'}`;
    return `${this.direction === 'out' ? 'outgoing' : 'incoming'} connection ${who ? `to peer '${who}' ` : ''}at ${where}`;
  }

  /** Queues a frame until the Hello completes (outgoing dials only); bounded by maxQueueBytes. */
  enqueue(frame: Buffer): boolean {
    if (this.state !== 'connecting' && this.state !== 'handshake') return this.dropped('connection is going away');
    if (this.pendingBytes + frame.length > this.ctx.limits.maxQueueBytes) return this.dropped('pre-Hello queue full');
    this.pending.push(frame);
    this.pendingBytes += frame.length;
    return true;
  }

  /** Hands over the pre-Hello queue (to write it here or move it to the surviving connection). */
  takePending(): Buffer[] {
    const p = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    return p;
  }

  /** Writes one frame if the socket's queue has room; otherwise drops it (false). */
  write(frame: Buffer): boolean {
    if (this.state !== 'open' || !this.socket.writable) {
      this.ctx.counters.droppedSends++;
      return false;
    }
    if (this.socket.writableLength + frame.length > this.ctx.limits.maxQueueBytes) {
      this.queueFullSince ??= this.ctx.clock();
      return this.dropped(`send queue full (${this.socket.writableLength} bytes waiting)`);
    }
    this.writeRaw(frame);
    return true;
  }

  /** Lost a tie-break: stop sending, end our side, keep reading until the peer closes. */
  retire(): void {
    this.finish('tie-break', 'retiring');
  }

  /** Local close that lets queued bytes go out (disconnect). Delivers nothing more. */
  end(reason: string): void {
    this.finish(reason, 'closing');
  }

  /** Immediate close. */
  destroy(reason: string): void {
    this.reason ??= reason;
    this.detach(reason, false);
    if (this.state !== 'closed') this.state = 'closing';
    this.socket.destroy();
  }

  /** Housekeeping: timeouts, keep-alive, slow peer, grace for ending connections, warning summaries. */
  tick(now: number): void {
    const l = this.ctx.limits;
    if (now - this.lastWarnFlush >= WARNING_SUMMARY_INTERVAL_MS) {
      this.lastWarnFlush = now;
      this.warnings.flush(this.remote?.peerId);
    }
    switch (this.state) {
      case 'connecting':
        if (now - this.createdAt >= l.connectTimeoutMs) this.fail('connect-timeout', `no TCP connection after ${l.connectTimeoutMs} ms`);
        return;
      case 'handshake':
        if (now - this.connectedAt >= l.helloTimeoutMs) this.fail('hello-timeout', `no Hello within ${l.helloTimeoutMs} ms`);
        return;
      case 'open':
        if (now - this.lastRecvAt >= l.idleTimeoutMs) {
          this.fail('idle', `nothing received for ${l.idleTimeoutMs} ms`);
          return;
        }
        if (this.queueFullSince !== undefined) {
          if (this.socket.writableLength <= l.maxQueueBytes / 2) this.queueFullSince = undefined;
          else if (now - this.queueFullSince >= l.slowPeerTimeoutMs) {
            this.fail('slow-peer', `send queue full for ${l.slowPeerTimeoutMs} ms (peer does not read)`);
            return;
          }
        }
        if (now - this.lastSentAt >= l.keepAliveMs && this.socket.writableLength === 0) {
          this.writeRaw(this.ctx.keepAliveFrame);
        }
        return;
      case 'retiring':
      case 'closing':
        // The peer should close its side promptly; do not keep a half-closed socket forever.
        if (now - this.endedAt >= Math.max(l.helloTimeoutMs, 1_000)) this.socket.destroy();
        return;
      case 'closed':
        return;
    }
  }

  // ---- internals ----

  private finish(reason: string, state: 'retiring' | 'closing'): void {
    if (this.state === 'closed' || this.state === 'retiring' || this.state === 'closing') return;
    this.reason ??= reason;
    this.state = state;
    this.endedAt = this.ctx.clock();
    this.detach(reason, true);
    this.socket.end();
  }

  private fail(reason: string, message: string): void {
    this.warnings.report(reason, message, this.remote?.peerId);
    this.destroy(reason);
  }

  private dropped(why: string): false {
    this.ctx.counters.droppedSends++;
    this.warnings.report('queue-full', `message dropped: ${why}`, this.remote?.peerId);
    return false;
  }

  private writeRaw(frame: Buffer): void {
    if (!this.socket.writable) return;
    this.socket.write(frame);
    this.lastSentAt = this.ctx.clock();
    this.ctx.counters.bytesOut += frame.length;
    this.ctx.counters.messagesOut++;
  }

  private detach(reason: string, graceful: boolean): void {
    if (this.detachedOnce) return;
    this.detachedOnce = true;
    if (this.state === 'connecting' || this.state === 'handshake' || this.state === 'open') {
      if (graceful && this.state === 'open') {
        // Remote half-close: Node ends our side too (allowHalfOpen is off); stop using it now.
        this.state = 'closing';
        this.endedAt = this.ctx.clock();
      }
    }
    this.ctx.hooks.detached(this, reason, graceful);
  }

  private onData(chunk: Buffer): void {
    if (this.state === 'closed') return;
    this.lastRecvAt = this.ctx.clock();
    this.ctx.counters.bytesIn += chunk.length;
    const msgs = this.decoder.push(chunk);
    for (const msg of msgs) {
      if (!this.delivering()) break; // a hook may have closed it mid-batch
      this.ctx.counters.messagesIn++;
      this.onMessage(msg);
    }
    this.checkHostile();
  }

  private delivering(): boolean {
    return this.state !== 'closed' && this.state !== 'closing';
  }

  private onMessage(msg: Message): void {
    const remote = this.remote;
    if (!remote) {
      if (msg.type === 'Hello') this.onHello(msg);
      else {
        this.ctx.counters.preHelloDropped++;
        this.warnings.report('message-before-hello', `${msg.type} before Hello dropped`);
      }
      return;
    }
    if (msg.peerId !== remote.peerId) {
      this.ctx.counters.spoofed++;
      this.warnings.report('spoofed', `${msg.type} claims peer id '${msg.peerId}' but Hello said '${remote.peerId}': dropped`, remote.peerId);
      return;
    }
    if (msg.type === 'Hello') {
      this.warnings.report('duplicate-hello', 'second Hello ignored', remote.peerId);
      return;
    }
    if (msg.type === 'KeepAlive') return;
    this.ctx.hooks.message(this, msg);
  }

  private onHello(h: Hello): void {
    if (h.peerId === '') {
      this.fail('bad-hello', 'Hello with an empty peer id');
      return;
    }
    const host = isUnspecifiedHost(h.contact.host) ? (this.socket.remoteAddress ?? h.contact.host) : h.contact.host;
    const observed = h.observed && typeof h.observed.host === 'string' ? { host: normalizeHost(h.observed.host), port: h.observed.port } : { host: '', port: 0 };
    this.remote = { peerId: h.peerId, contact: { host: normalizeHost(host), port: h.contact.port }, role: h.role, observed, source: this.source() };
    if (this.state === 'handshake') this.state = 'open';
    this.ctx.hooks.hello(this, this.remote);
  }

  private onFrameError(e: FrameError): void {
    this.ctx.counters.frameErrors++;
    this.warnings.report('frame-error', `${e.kind}: ${e.detail} (resynced)`, this.remote?.peerId);
  }

  /** Closes a peer that sends far more garbage than any broken-but-honest peer would. */
  private checkHostile(): void {
    if (this.state === 'closed') return;
    const s = this.decoder.stats;
    const h = this.ctx.hostile;
    const errors = s.resyncs + s.unknownType + s.decodeErrors;
    const bufferBound = this.ctx.limits.maxPayloadBytes + 64 * 1024;
    if (errors > h.maxFrameErrors || s.bytesSkipped > h.maxSkippedBytes || this.decoder.bufferedBytes > bufferBound) {
      this.fail('hostile', `closed as hostile: ${errors} frame errors, ${s.bytesSkipped} bytes skipped, ${this.decoder.bufferedBytes} bytes buffered`);
    }
  }
}
