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

export interface RelayPlannerDeps {
  transport: RelayTransport;
  /** Known members with their reachability (the engine's membership). */
  members: () => readonly { peerId: string; reachability: Reachability }[];
  /** Whether a real connection to this peer is up. */
  isDirect: (peerId: string) => boolean;
  /** Whether a punch to this peer was tried (it failed when the peer is still not connected). */
  punched: (peerId: string) => boolean;
  /** Whether we are behind a NAT ourselves (only then can a `nat` member be out of reach). */
  selfNat: () => boolean;
  onOpen?: (peerId: string, relay: string) => void;
}

/** Look this often for `nat` members to relay to. */
const PLAN_EVERY_MS = 5_000;
/** A punch gets this long to connect before a relay is tried. */
const PUNCH_GRACE_MS = 10_000;

/** Opens a relay route to each `nat` member a punch did not reach, trying another relay when one goes quiet. */
export class RelayPlanner {
  private nextAt = 0;
  private readonly punchedSince = new Map<string, number>();
  private readonly tried = new Map<string, Set<string>>();

  constructor(private readonly deps: RelayPlannerDeps) {}

  tick(now: number): void {
    if (now < this.nextAt) return;
    this.nextAt = now + PLAN_EVERY_MS;
    if (!this.deps.selfNat()) return;
    const members = this.deps.members();
    for (const m of members) {
      const id = m.peerId;
      if (m.reachability !== 'nat' || this.deps.isDirect(id) || this.deps.transport.routes.has(id) || !this.deps.punched(id)) continue;
      const since = this.punchedSince.get(id) ?? now;
      this.punchedSince.set(id, since);
      if (now - since < PUNCH_GRACE_MS) continue;
      const tried = this.tried.get(id) ?? new Set<string>();
      this.tried.set(id, tried);
      let relay = pickRelay(members, this.deps.isDirect, id, tried);
      if (relay === undefined && tried.size > 0) {
        tried.clear(); // every relay went quiet once: start over
        relay = pickRelay(members, this.deps.isDirect, id, tried);
      }
      if (relay === undefined) continue;
      tried.add(relay);
      this.deps.transport.open(id, relay);
      this.deps.onOpen?.(id, relay);
    }
  }
}
