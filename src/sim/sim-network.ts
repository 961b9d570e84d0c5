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
}

export const DEFAULT_SIM_NETWORK_CONFIG: Readonly<SimNetworkConfig> = Object.freeze({
  minLatencyMs: 5,
  latencyPerUnitMs: 60,
  defaultUploadBps: 8_000_000,
  detectionDelayMs: 1500,
});

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
  bytes: number;
  controlBytes: number;
  byType: Record<string, number>;
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
}

const contactKey = (c: Contact): string => `${c.host.toLowerCase()}:${c.port}`;

export class SimNetwork {
  readonly config: SimNetworkConfig;
  readonly stats: SimNetworkStats = { sent: 0, delivered: 0, lost: 0, refused: 0, bytes: 0, controlBytes: 0, byType: {} };
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
    opts: { uploadBps?: number; position?: { x: number; y: number } } = {},
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
    };
    this.nodes.set(peerId, node);
    this.byContact.set(contactKey(contact), node);
    return {
      send: (to, msg) => this.send(node, to, msg),
      disconnect: (other) => this.disconnect(node, other),
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
    this.stats.sent++;
    this.stats.bytes += size;
    if (!isDataMessage(msg)) this.stats.controlBytes += size;
    this.stats.byType[msg.type] = (this.stats.byType[msg.type] ?? 0) + 1;
    from.bytesUp += size;
    if (!target.alive) {
      this.stats.lost++;
      return true;
    }
    from.connections.add(target.peerId);
    target.connections.add(from.peerId);
    const now = this.clock.now();
    const departAt = Math.max(now, from.uploadFreeAt) + (size * 8000) / from.uploadBps;
    from.uploadFreeAt = departAt;
    this.clock.scheduleAt(departAt + this.linkLatency(from, target), () => {
      if (!from.alive || !target.alive) {
        this.stats.lost++;
        return;
      }
      this.stats.delivered++;
      target.endpoint.receive(from.address, msg);
    });
    return true;
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
    return this.config.minLatencyMs + d * this.config.latencyPerUnitMs;
  }
}
