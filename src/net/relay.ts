// Relay fallback (docs/nat.md, "Relay"): two boxes that cannot connect at all (symmetric NAT on
// both sides, so every punch fails) talk through a public or mapped box connected to both.
//  - RelayForwarder, on the relay: forwards a Relay message from its origin to its target when it
//    has a connection to the target and relay budget left (net.relayMaxKbps; 0 = never relay).
//    Bytes are counted against a token bucket, so a relay never carries more than it set aside.
//  - RelayRoutes, on each end: a route "peer X through relay R" is a virtual connection to X. The
//    node's transport (relay-transport.ts) sends X's messages wrapped in a Relay to R and hands
//    the unwrapped messages that come back to the engine as if X had sent them on a connection.
import type { PeerAddress } from '../engine/ports.js';
import { TokenBucket } from '../player/token-bucket.js';
import { payloadByteLength } from '../protocol/codec.js';
import type { Message, Relay } from '../protocol/messages.js';

export interface RelayForwarderOptions {
  selfId: string;
  /** Upload set aside for relaying, kbit/s (net.relayMaxKbps); 0 = never relay. */
  maxKbps: number;
  clock: () => number;
  /** Whether a connection to this peer is up. */
  isConnected: (peerId: string) => boolean;
  /** Sends to a connected peer by id. */
  send: (peerId: string, msg: Message) => boolean;
}

export interface RelayForwarderStats {
  /** Inner payload bytes forwarded (both directions of every session). */
  relayedBytes: number;
  /** Distinct origin → target pairs forwarded at least once. */
  relaySessions: number;
  /** Relay messages not forwarded: over budget, no connection to the target, relaying off, spoofed. */
  relayRefused: number;
}

/** Burst the relay budget allows: this many seconds of its rate. */
const BURST_SECONDS = 2;

export class RelayForwarder {
  private readonly bucket: TokenBucket | undefined;
  private readonly sessions = new Set<string>();
  private relayedBytes = 0;
  private refused = 0;

  constructor(private readonly opts: RelayForwarderOptions) {
    if (!(opts.maxKbps >= 0) || !Number.isFinite(opts.maxKbps)) throw new RangeError(`net.relayMaxKbps must be a number >= 0, got ${opts.maxKbps}`);
    const bytesPerSec = (opts.maxKbps * 1000) / 8;
    this.bucket = bytesPerSec > 0 ? new TokenBucket({ ratePerSec: bytesPerSec, capacity: bytesPerSec * BURST_SECONDS, clock: { now: opts.clock } }) : undefined;
  }

  /** A Relay message addressed through us; returns why it was refused, or undefined when forwarded. */
  handle(from: PeerAddress, msg: Relay): string | undefined {
    const why = this.refusal(from, msg);
    if (why !== undefined) {
      this.refused++;
      return why;
    }
    const size = payloadByteLength(msg.inner);
    if (!this.bucket!.tryTake(size)) {
      this.refused++;
      return 'over-budget';
    }
    if (!this.opts.send(msg.target, { ...msg, peerId: this.opts.selfId, contentId: '' })) {
      this.refused++;
      return 'send-failed';
    }
    this.relayedBytes += size;
    this.sessions.add(`${msg.origin}\n${msg.target}`);
    return undefined;
  }

  stats(): RelayForwarderStats {
    return { relayedBytes: this.relayedBytes, relaySessions: this.sessions.size, relayRefused: this.refused };
  }

  private refusal(from: PeerAddress, msg: Relay): string | undefined {
    if (!this.bucket) return 'relaying-off';
    if (msg.origin !== from.peerId) return 'spoofed-origin';
    if (msg.target === this.opts.selfId || msg.target === msg.origin) return 'bad-target';
    if (!this.opts.isConnected(msg.target)) return 'no-connection-to-target';
    return undefined;
  }
}

export interface RelayRoutesOptions {
  selfId: string;
  clock: () => number;
  /** A route with nothing received for this long is dropped (the far end or the relay is gone). */
  idleMs: number;
}

export interface RelayRoutesStats {
  /** Messages received through a relay. */
  viaRelay: number;
  /** Of those, chunks (DataChunkResp). */
  viaRelayChunks: number;
  /** Messages sent through a relay. */
  sentViaRelay: number;
  /** Peers reached through a relay now: peer id → relay id. */
  relayedPeers: Record<string, string>;
}

interface Route {
  relay: string;
  lastIn: number;
}

/** The end side: which peers we reach through which relay, wrapping and unwrapping. */
export class RelayRoutes {
  private readonly routes = new Map<string, Route>();
  private viaRelay = 0;
  private viaRelayChunks = 0;
  private sent = 0;

  constructor(private readonly opts: RelayRoutesOptions) {}

  /** Reach `peerId` through `relay` from now on. */
  open(peerId: string, relay: string): void {
    if (peerId === this.opts.selfId || relay === peerId) return;
    this.routes.set(peerId, { relay, lastIn: this.opts.clock() });
  }

  has(peerId: string): boolean {
    return this.routes.has(peerId);
  }

  relayOf(peerId: string): string | undefined {
    return this.routes.get(peerId)?.relay;
  }

  /** The Relay message that carries `inner` to `peerId`, and the relay to send it to; undefined when no route. */
  wrap(peerId: string, inner: Message): { relay: string; msg: Relay } | undefined {
    const r = this.routes.get(peerId);
    if (!r) return undefined;
    this.sent++;
    return { relay: r.relay, msg: { type: 'Relay', peerId: this.opts.selfId, contentId: '', origin: this.opts.selfId, target: peerId, inner } };
  }

  /**
   * A Relay message for us: the inner message and the virtual peer it comes from, or undefined
   * when it is not for us or its inner sender is not its origin (dropped). Opens the route back.
   */
  unwrap(from: PeerAddress, msg: Relay): { from: PeerAddress; msg: Message } | undefined {
    if (msg.target !== this.opts.selfId || msg.inner.peerId !== msg.origin || msg.origin === this.opts.selfId) return undefined;
    const r = this.routes.get(msg.origin);
    if (r && r.relay === from.peerId) r.lastIn = this.opts.clock();
    else this.routes.set(msg.origin, { relay: from.peerId, lastIn: this.opts.clock() });
    this.viaRelay++;
    if (msg.inner.type === 'DataChunkResp') this.viaRelayChunks++;
    return { from: { peerId: msg.origin, contact: { host: '', port: 0 } }, msg: msg.inner };
  }

  /** Drops routes through a relay that went away, or to a peer now reached directly; returns the peers dropped. */
  drop(match: (peerId: string, relay: string) => boolean): string[] {
    const gone: string[] = [];
    for (const [id, r] of this.routes) {
      if (!match(id, r.relay)) continue;
      this.routes.delete(id);
      gone.push(id);
    }
    return gone;
  }

  /** Drops idle routes; returns the peers dropped. */
  expire(now: number): string[] {
    return this.drop((id) => now - (this.routes.get(id)?.lastIn ?? now) >= this.opts.idleMs);
  }

  stats(): RelayRoutesStats {
    const relayedPeers: Record<string, string> = {};
    for (const [id, r] of this.routes) relayedPeers[id] = r.relay;
    return { viaRelay: this.viaRelay, viaRelayChunks: this.viaRelayChunks, sentViaRelay: this.sent, relayedPeers };
  }
}
