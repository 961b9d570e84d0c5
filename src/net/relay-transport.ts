// The engine's Transport with relay fallback (docs/nat.md, "Relay"): a peer reached through a relay
// is a virtual connection. send() wraps its messages in a Relay to the relay, isConnected() says
// yes, disconnect() drops the route; Relay messages that arrive are forwarded (we are the relay) or
// unwrapped and handed on as if the far peer had sent them (we are the target). The engine sees
// peers and messages only, so it needs no change.
import type { Destination, PeerAddress, Transport } from '../engine/ports.js';
import { NO_CONTACT } from '../engine/ports.js';
import type { Message, Reachability } from '../protocol/messages.js';
import { RelayForwarder, RelayRoutes, type RelayForwarderStats, type RelayRoutesStats } from './relay.js';

export interface RelayTransportOptions {
  selfId: string;
  /** The real transport (the connection manager). */
  net: Transport & { isConnected(peerId: string): boolean };
  /** Upload set aside for relaying for others, kbit/s; 0 = never relay. */
  relayMaxKbps: number;
  clock: () => number;
  /** A route with nothing received for this long is dropped (default 30 s). */
  routeIdleMs?: number;
  /** A relayed peer went away (route idle, relay gone): the engine hears it like a closed connection. */
  onPeerLost?: (peerId: string) => void;
  onRefused?: (from: PeerAddress, target: string, why: string) => void;
}

export type RelayStats = RelayForwarderStats & RelayRoutesStats;

export class RelayTransport implements Transport {
  readonly routes: RelayRoutes;
  private readonly forwarder: RelayForwarder;

  constructor(private readonly opts: RelayTransportOptions) {
    this.routes = new RelayRoutes({ selfId: opts.selfId, clock: opts.clock, idleMs: opts.routeIdleMs ?? 30_000 });
    this.forwarder = new RelayForwarder({
      selfId: opts.selfId,
      maxKbps: opts.relayMaxKbps,
      clock: opts.clock,
      isConnected: (id) => opts.net.isConnected(id),
      send: (id, msg) => opts.net.send({ peerId: id, contact: { ...NO_CONTACT } }, msg),
    });
  }

  send(to: Destination, msg: Message): boolean {
    const id = to.peerId;
    if (id !== undefined && !this.opts.net.isConnected(id)) {
      const wrapped = this.routes.wrap(id, msg);
      if (wrapped) return this.opts.net.send({ peerId: wrapped.relay, contact: { ...NO_CONTACT } }, wrapped.msg);
    }
    return this.opts.net.send(to, msg);
  }

  disconnect(peerId: string): void {
    if (this.routes.drop((id) => id === peerId).length > 0 && !this.opts.net.isConnected(peerId)) return;
    this.opts.net.disconnect(peerId);
  }

  isConnected(peerId: string): boolean {
    return this.opts.net.isConnected(peerId) || this.routes.has(peerId);
  }

  /**
   * A message from the real transport. Relay messages are ours: returns the message to hand to the
   * engine (unwrapped, from the far peer), or undefined when nothing is to be delivered.
   */
  receive(from: PeerAddress, msg: Message): { from: PeerAddress; msg: Message } | undefined {
    if (msg.type !== 'Relay') return { from, msg };
    if (msg.target !== this.opts.selfId) {
      const why = this.forwarder.handle(from, msg);
      if (why !== undefined) this.opts.onRefused?.(from, msg.target, why);
      return undefined;
    }
    return this.routes.unwrap(from, msg);
  }

  /** Reach `peerId` through `relay` (a public or mapped peer we are connected to). */
  open(peerId: string, relay: string): void {
    if (!this.opts.net.isConnected(peerId) && this.opts.net.isConnected(relay)) this.routes.open(peerId, relay);
  }

  /** A real connection closed: routes through it end (their far peers are lost); returns those peers. */
  connectionLost(peerId: string): string[] {
    const gone = this.routes.drop((_, relay) => relay === peerId);
    for (const id of gone) this.opts.onPeerLost?.(id);
    return gone;
  }

  /** Housekeeping: idle routes end, routes to peers now connected directly give way. */
  tick(now: number): void {
    for (const id of this.routes.expire(now)) this.opts.onPeerLost?.(id);
    this.routes.drop((id) => this.opts.net.isConnected(id));
  }

  stats(): RelayStats {
    return { ...this.forwarder.stats(), ...this.routes.stats() };
  }
}

/**
 * Picks a relay for a `nat` member punches did not reach: a connected public or mapped member that
 * is not the target (the tracker is not a member, so it is never picked). `skip` lists relays tried
 * already for this target; undefined when none is left.
 */
export function pickRelay(members: readonly { peerId: string; reachability: Reachability }[], isConnected: (id: string) => boolean, target: string, skip: ReadonlySet<string>): string | undefined {
  const ok = members.filter((m) => m.peerId !== target && (m.reachability === 'public' || m.reachability === 'mapped') && isConnected(m.peerId) && !skip.has(m.peerId));
  return ok[Math.floor(Math.random() * ok.length)]?.peerId;
}
