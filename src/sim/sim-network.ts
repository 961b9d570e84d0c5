// In-memory network for the simulator. Each node gets a Transport; messages are delivered in
// virtual time, in order per link. Model:
//  - latency per link from node positions in a unit square: minLatencyMs + distance × latencyPerUnitMs
//    (symmetric, constant per link, hence FIFO per link);
//  - per-node upload bandwidth: a sender's messages leave one after the other (serialisation delay
//    size × 8 / uploadBps), so a busy uplink queues;
//  - a "connection" exists between two nodes once either sent to the other; disconnect() closes it
//    and the other side gets peerDisconnected after the in-flight messages (unless a new connection
//    was opened meanwhile);
//  - kill() makes a node vanish: everything in flight to or from it is lost and every node
//    connected to it gets peerDisconnected after detectionDelayMs. Sends to a dead node are
//    accepted and lost (the sender cannot know yet); sends to an unknown contact return false.
// The field (docs/simulator.md; every fault is off by default, and then no random draw is made, so
// runs without faults are unchanged):
//  - a bounded send queue per connection (connectionQueueBytes: the kernel's send buffer plus the
//    node's own queue): a message that would not fit is dropped and send() returns false, as the real
//    connection does ("send queue full"); the router's tbf queue in front is part of the same FIFO;
//  - access latency per node (accessLatencyMs), added to every message to or from it;
//  - loss per message (lossRate): the links are TCP, so a lost segment costs a retransmission — the
//    message is sent again (upload spent twice) after max(retransmitMinMs, 2 × RTT), never lost;
//  - nodes that cannot be dialled (reachable: false, behind a NAT): a message to one that has no
//    connection with the sender is lost and the sender gets peerDisconnected after connectTimeoutMs;
//  - partitions (partition/heal): messages between groups are lost and the connections between them
//    break, noticed after detectionDelayMs on both sides;
//  - pauses (pause): a stopped process receives nothing until it resumes (messages wait, in order);
//    the simulator does not tick it meanwhile.
import type { Contact, Message } from '../protocol/messages.js';
import type { Destination, PeerAddress, Random, Transport } from '../engine/ports.js';
import type { VirtualClock } from './virtual-clock.js';
import { estimateMessageBytes, isDataMessage } from './message-size.js';

export interface SimNetworkConfig {
  minLatencyMs: number;
  latencyPerUnitMs: number;
  defaultUploadBps: number;
  /** How long after a node dies its connected peers notice (TCP keepalive / RST). */
  detectionDelayMs: number;
  /** Bytes one connection may hold waiting for the sender's uplink; beyond: dropped (Infinity: unbounded). */
  connectionQueueBytes: number;
  /** Probability that a message needs a retransmission (per transmission). */
  lossRate: number;
  /** Least retransmission delay after a loss (TCP's minimum RTO). */
  retransmitMinMs: number;
  /** A dial to a node that cannot be reached fails after this long. */
  connectTimeoutMs: number;
}

export const DEFAULT_SIM_NETWORK_CONFIG: Readonly<SimNetworkConfig> = Object.freeze({
  minLatencyMs: 5,
  latencyPerUnitMs: 60,
  defaultUploadBps: 8_000_000,
  detectionDelayMs: 1500,
  connectionQueueBytes: Infinity,
  lossRate: 0,
  retransmitMinMs: 200,
  connectTimeoutMs: 3000,
});

/** A node's link: upload, place, access latency, whether it can be dialled. */
export interface SimLinkOptions {
  uploadBps?: number;
  position?: { x: number; y: number };
  /** One-way delay of the node's access link (ms), added to every message to or from it. */
  accessLatencyMs?: number;
  /** False: behind a NAT, only connections it opens itself exist. */
  reachable?: boolean;
}

/** What the network calls on a node (an engine, or a test double). */
export interface SimEndpoint {
  receive(from: PeerAddress, msg: Message): void;
  peerDisconnected(peerId: string): void;
}

export interface SimNetworkStats {
  sent: number;
  delivered: number;
  /** Lost in flight (an end died) or sent to a dead node. */
  lost: number;
  /** Refused at send (unknown destination, dead sender). */
  refused: number;
  /** Dropped at send: the connection's send queue was full (send() returned false). */
  queueFull: number;
  /** Transmissions repeated after a loss. */
  retransmits: number;
  /** Lost between partitioned groups, or dials to a node that cannot be reached. */
  unreachable: number;
  bytes: number;
  controlBytes: number;
  byType: Record<string, number>;
  /** Bytes sent per message type. */
  bytesByType: Record<string, number>;
}

interface SimNode {
  peerId: string;
  contact: Contact;
  address: PeerAddress;
  endpoint: SimEndpoint;
  x: number;
  y: number;
  uploadBps: number;
  uploadFreeAt: number;
  alive: boolean;
  connections: Set<string>;
  bytesUp: number;
  accessLatencyMs: number;
  reachable: boolean;
  /** Partition group (0: everyone together). */
  group: number;
  /** Paused until this virtual time (0: running). */
  pausedUntil: number;
  /** Per connection (with loss): when its last message arrives; the next cannot arrive sooner. */
  inOrderAt: Map<string, number>;
  /** Per connection: departure times and sizes of messages still waiting for the uplink. */
  backlog: Map<string, Backlog> | undefined;
}

interface Backlog {
  bytes: number;
  departures: Array<{ at: number; size: number }>;
}

const contactKey = (c: Contact): string => `${c.host.toLowerCase()}:${c.port}`;

export class SimNetwork {
  readonly config: SimNetworkConfig;
  readonly stats: SimNetworkStats = { sent: 0, delivered: 0, lost: 0, refused: 0, queueFull: 0, retransmits: 0, unreachable: 0, bytes: 0, controlBytes: 0, byType: {}, bytesByType: {} };
  private readonly nodes = new Map<string, SimNode>();
  private readonly byContact = new Map<string, SimNode>();

  constructor(
    private readonly clock: VirtualClock,
    private readonly random: Random,
    config: Partial<SimNetworkConfig> = {},
    private readonly sizeOf: (msg: Message) => number = estimateMessageBytes,
  ) {
    this.config = { ...DEFAULT_SIM_NETWORK_CONFIG, ...config };
  }

  /** Attaches a node; returns the Transport its engine must use. */
  addNode(
    peerId: string,
    contact: Contact,
    endpoint: SimEndpoint,
    opts: SimLinkOptions = {},
  ): Transport {
    if (this.nodes.has(peerId)) throw new Error(`sim node ${peerId} already exists`);
    const node: SimNode = {
      peerId,
      contact: { ...contact },
      address: { peerId, contact: { ...contact } },
      endpoint,
      x: opts.position?.x ?? this.random.next(),
      y: opts.position?.y ?? this.random.next(),
      uploadBps: opts.uploadBps ?? this.config.defaultUploadBps,
      uploadFreeAt: 0,
      alive: true,
      connections: new Set(),
      bytesUp: 0,
      accessLatencyMs: opts.accessLatencyMs ?? 0,
      reachable: opts.reachable ?? true,
      group: 0,
      pausedUntil: 0,
      inOrderAt: new Map(),
      backlog: Number.isFinite(this.config.connectionQueueBytes) ? new Map() : undefined,
    };
    this.nodes.set(peerId, node);
    this.byContact.set(contactKey(contact), node);
    return {
      send: (to, msg) => this.send(node, to, msg),
      disconnect: (other) => this.disconnect(node, other),
      isConnected: (other) => node.connections.has(other),
    };
  }

  isAlive(peerId: string): boolean {
    return this.nodes.get(peerId)?.alive ?? false;
  }

  /** Whether the two nodes currently have a connection. */
  connected(a: string, b: string): boolean {
    return this.nodes.get(a)?.connections.has(b) ?? false;
  }

  bytesUploaded(peerId: string): number {
    return this.nodes.get(peerId)?.bytesUp ?? 0;
  }

  /** One-way latency between two nodes, in ms. */
  latencyMs(a: string, b: string): number {
    const na = this.nodes.get(a);
    const nb = this.nodes.get(b);
    if (!na || !nb) return this.config.minLatencyMs;
    return this.linkLatency(na, nb);
  }

  /** The node vanishes: links drop, connected peers notice after detectionDelayMs. */
  kill(peerId: string): void {
    const node = this.nodes.get(peerId);
    if (!node || !node.alive) return;
    node.alive = false;
    for (const otherId of node.connections) {
      const other = this.nodes.get(otherId);
      if (!other) continue;
      other.connections.delete(peerId);
      if (other.alive) {
        this.clock.schedule(this.config.detectionDelayMs, () => {
          if (other.alive) other.endpoint.peerDisconnected(peerId);
        });
      }
    }
    node.connections.clear();
  }

  /** Whether the node is paused now (the simulator does not tick it). */
  isPaused(peerId: string): boolean {
    const node = this.nodes.get(peerId);
    return node !== undefined && node.pausedUntil > this.clock.now();
  }

  /** The node's process stops for `durationMs` (SIGSTOP): messages to it wait until it resumes. */
  pause(peerId: string, durationMs: number): void {
    const node = this.nodes.get(peerId);
    if (node) node.pausedUntil = Math.max(node.pausedUntil, this.clock.now() + durationMs);
  }

  /**
   * Splits the nodes into groups that cannot reach each other (nodes not listed stay in group 0 with
   * the tracker and whoever else is unlisted). Connections across groups break.
   */
  partition(groups: readonly (readonly string[])[]): void {
    for (const node of this.nodes.values()) node.group = 0;
    groups.forEach((ids, i) => {
      for (const id of ids) {
        const node = this.nodes.get(id);
        if (node) node.group = i + 1;
      }
    });
    for (const node of this.nodes.values()) {
      for (const otherId of [...node.connections]) {
        const other = this.nodes.get(otherId);
        if (other && other.group !== node.group) this.breakLink(node, other);
      }
    }
  }

  /** Every node can reach every other again. */
  heal(): void {
    for (const node of this.nodes.values()) node.group = 0;
  }

  private send(from: SimNode, to: Destination, msg: Message): boolean {
    if (!from.alive) {
      this.stats.refused++;
      return false;
    }
    const target = (to.peerId !== undefined ? this.nodes.get(to.peerId) : undefined) ?? this.byContact.get(contactKey(to.contact));
    if (!target || target === from) {
      this.stats.refused++;
      return false;
    }
    const size = this.sizeOf(msg);
    const now = this.clock.now();
    if (from.backlog && !this.fits(from, target.peerId, size, now)) {
      this.stats.queueFull++;
      return false;
    }
    this.stats.sent++;
    this.stats.bytes += size;
    if (!isDataMessage(msg)) this.stats.controlBytes += size;
    this.stats.byType[msg.type] = (this.stats.byType[msg.type] ?? 0) + 1;
    this.stats.bytesByType[msg.type] = (this.stats.bytesByType[msg.type] ?? 0) + size;
    from.bytesUp += size;
    if (!target.alive) {
      this.stats.lost++;
      return true;
    }
    if (target.group !== from.group || (!target.reachable && !from.connections.has(target.peerId))) {
      // Partitioned, or a dial to a node behind a NAT: the connection attempt fails.
      this.stats.unreachable++;
      if (!from.connections.has(target.peerId)) {
        this.clock.schedule(this.config.connectTimeoutMs, () => {
          if (from.alive && !from.connections.has(target.peerId)) from.endpoint.peerDisconnected(target.peerId);
        });
      }
      return true;
    }
    from.connections.add(target.peerId);
    target.connections.add(from.peerId);
    const latency = this.linkLatency(from, target);
    let arriveAt = this.depart(from, target.peerId, size, now) + latency;
    if (this.config.lossRate > 0) {
      // TCP: a lost transmission is repeated after the retransmission timeout; the copy takes upload
      // again, and the connection delivers in order, so what follows on it waits (head-of-line).
      while (this.random.next() < this.config.lossRate) {
        this.stats.retransmits++;
        from.bytesUp += size;
        from.uploadFreeAt += (size * 8000) / from.uploadBps;
        arriveAt += Math.max(this.config.retransmitMinMs, 2 * latency);
      }
      arriveAt = Math.max(arriveAt, from.inOrderAt.get(target.peerId) ?? 0);
      from.inOrderAt.set(target.peerId, arriveAt);
    }
    this.clock.scheduleAt(arriveAt, () => this.deliver(from, target, msg));
    return true;
  }

  private deliver(from: SimNode, target: SimNode, msg: Message): void {
    if (!from.alive || !target.alive || from.group !== target.group) {
      this.stats.lost++;
      return;
    }
    if (target.pausedUntil > this.clock.now()) {
      this.clock.scheduleAt(target.pausedUntil, () => this.deliver(from, target, msg));
      return;
    }
    this.stats.delivered++;
    target.endpoint.receive(from.address, msg);
  }

  /** Puts `size` bytes on the sender's uplink no earlier than `earliest`; returns when they leave. */
  private depart(from: SimNode, toId: string, size: number, earliest: number): number {
    const departAt = Math.max(earliest, from.uploadFreeAt) + (size * 8000) / from.uploadBps;
    from.uploadFreeAt = departAt;
    const b = from.backlog?.get(toId);
    if (b) {
      b.bytes += size;
      b.departures.push({ at: departAt, size });
    }
    return departAt;
  }

  /** Whether `size` more bytes fit in the connection's send queue (messages already gone leave it). */
  private fits(from: SimNode, toId: string, size: number, now: number): boolean {
    const backlogs = from.backlog as Map<string, Backlog>;
    let b = backlogs.get(toId);
    if (!b) {
      b = { bytes: 0, departures: [] };
      backlogs.set(toId, b);
    }
    let gone = 0;
    while (gone < b.departures.length && (b.departures[gone] as { at: number }).at <= now) {
      b.bytes -= (b.departures[gone] as { size: number }).size;
      gone++;
    }
    if (gone > 0) b.departures.splice(0, gone);
    return b.bytes === 0 || b.bytes + size <= this.config.connectionQueueBytes;
  }

  /** A connection breaks (partition): both ends notice after detectionDelayMs. */
  private breakLink(a: SimNode, b: SimNode): void {
    a.connections.delete(b.peerId);
    b.connections.delete(a.peerId);
    a.backlog?.delete(b.peerId);
    b.backlog?.delete(a.peerId);
    this.clock.schedule(this.config.detectionDelayMs, () => {
      if (a.alive && !a.connections.has(b.peerId)) a.endpoint.peerDisconnected(b.peerId);
      if (b.alive && !b.connections.has(a.peerId)) b.endpoint.peerDisconnected(a.peerId);
    });
  }

  private disconnect(from: SimNode, otherId: string): void {
    if (!from.connections.delete(otherId)) return;
    const other = this.nodes.get(otherId);
    if (!other) return;
    other.connections.delete(from.peerId);
    // The close travels behind whatever is already in flight on the link.
    const at = Math.max(this.clock.now(), from.uploadFreeAt) + this.linkLatency(from, other);
    this.clock.scheduleAt(at, () => {
      // Skipped when a new connection between the two was opened meanwhile.
      if (other.alive && !other.connections.has(from.peerId)) other.endpoint.peerDisconnected(from.peerId);
    });
  }

  private linkLatency(a: SimNode, b: SimNode): number {
    const d = Math.hypot(a.x - b.x, a.y - b.y);
    return this.config.minLatencyMs + d * this.config.latencyPerUnitMs + a.accessLatencyMs + b.accessLatencyMs;
  }
}
