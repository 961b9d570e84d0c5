// LAN announce/discovery over UDP (dgram-as-promised): a local tracker announces itself on the local
// segment and answers queries; a local node queries and takes the first tracker announce it hears.
//
// Delivery: periodic announces go to the configured targets (the segment's broadcast address, a
// multicast group, or a unicast list in tests); answers to queries go unicast to the asker.
//
// dgram-as-promised notes: its `recv()` loses nothing only while a recv is pending, and a
// `setTimeout()` expiry is remembered as an error that makes the *next* send/recv reject. So we
// receive with the createSocket message callback (a permanent listener), keep our own timers, and
// use the promise API only for bind/send/close.
import DgramAsPromised from 'dgram-as-promised';
import type { RemoteInfo, SocketAsPromised } from 'dgram-as-promised';
import type { Contact } from '../protocol/messages.js';
import { decodeLanDatagram, encodeLanDatagram, type LanDatagram } from './lan-datagram.js';

export * from './lan-datagram.js';

/** How often a tracker re-announces itself (ms); the default of segment.announceIntervalMs. */
export const LAN_ANNOUNCE_INTERVAL_MS = 1_000;
/** How often discovery repeats its query while nothing answered (UDP is lossy) (ms). */
export const LAN_QUERY_INTERVAL_MS = 1_000;
/** Default time discovery waits for a tracker (ms); the default of segment.discoveryRoundMs. */
export const LAN_DISCOVERY_TIMEOUT_MS = 3_000;

export interface LanWarning {
  code: string;
  message: string;
}

/** Socket options shared by announcer and discovery. */
export interface LanSocketOptions {
  /** Local address and port to bind (port 0 = ephemeral). Default 0.0.0.0:0. */
  bind?: { host?: string; port?: number };
  /** Where datagrams go: broadcast address, multicast group, or unicast addresses. */
  targets: Contact[];
  /** Enable SO_BROADCAST (needed to send to a broadcast address). */
  broadcast?: boolean;
  /** Join this multicast group (to hear datagrams sent to it) and set the multicast TTL. */
  multicast?: { group: string; interface?: string; ttl?: number };
  /** 'udp4' (default) or 'udp6'. */
  type?: 'udp4' | 'udp6';
  onWarning?: (w: LanWarning) => void;
}

export interface LanAnnouncerOptions extends LanSocketOptions {
  peerId: string;
  /** Role announced: 'tracker' for a central tracker, 'main' for a main node's local tracker. */
  role: string;
  /** TCP port the tracker accepts peers on. */
  trackerPort: number;
  /** Contents currently served (read at every announce). */
  contentIds?: () => readonly string[];
  intervalMs?: number;
}

export interface LanAnnouncerStats {
  announcesSent: number;
  queriesAnswered: number;
  malformed: number;
  sendErrors: number;
}

/** A tracker heard on the segment. */
export interface DiscoveredTracker {
  peerId: string;
  role: string;
  /** Where to reach the tracker over TCP: the announce's source address and its tracker port. */
  contact: Contact;
  contentIds: string[];
}

export interface LanDiscoveryOptions extends LanSocketOptions {
  /** The asking node's peer id and role (put into the query). */
  peerId: string;
  role?: string;
  /** Content ids the node looks for: sent as a hint, and an announce must list one of them. */
  contentIds?: string[];
  /** Accept only announces with one of these roles (default: any). */
  roles?: string[];
  queryIntervalMs?: number;
}

/** Discovery found no tracker in time, or was closed while waiting. */
export class LanDiscoveryError extends Error {
  override readonly name = 'LanDiscoveryError';
}

function normalizeHost(h: string): string {
  return h.startsWith('::ffff:') && h.includes('.') ? h.slice(7) : h;
}

function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** One UDP socket with bind/send/close and a permanent datagram handler. */
class LanSocket {
  private readonly sock: SocketAsPromised;
  private open = false;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly opts: LanSocketOptions,
    onDatagram: (msg: Buffer, rinfo: RemoteInfo) => void,
  ) {
    this.sock = DgramAsPromised.createSocket({ type: opts.type ?? 'udp4', reuseAddr: true }, onDatagram);
    this.sock.socket.on('error', (e) => this.warn('socket-error', `UDP socket error: ${describe(e)}`));
  }

  warn(code: string, message: string): void {
    this.opts.onWarning?.({ code, message });
  }

  async bind(): Promise<Contact> {
    const addr = await this.sock.bind(this.opts.bind?.port ?? 0, this.opts.bind?.host);
    this.open = true;
    if (this.opts.broadcast) this.sock.setBroadcast(true);
    const mc = this.opts.multicast;
    if (mc) {
      this.sock.addMembership(mc.group, mc.interface);
      if (mc.ttl !== undefined) this.sock.setMulticastTTL(mc.ttl);
    }
    return { host: normalizeHost(addr.address), port: addr.port };
  }

  /** Sends to one address; failures become warnings, never rejections. */
  async send(buf: Buffer, to: Contact): Promise<boolean> {
    if (!this.open) return false;
    try {
      await this.sock.send(buf, to.port, to.host);
      return true;
    } catch (e) {
      this.warn('send-failed', `UDP send to ${to.host}:${to.port} failed: ${describe(e)}`);
      return false;
    }
  }

  async sendAll(buf: Buffer): Promise<number> {
    const results = await Promise.all(this.opts.targets.map((t) => this.send(buf, t)));
    return results.filter(Boolean).length;
  }

  close(): Promise<void> {
    if (!this.closing) {
      const wasOpen = this.open;
      this.open = false;
      this.closing = (wasOpen ? this.sock.close() : Promise.resolve())
        .catch(() => undefined)
        .finally(() => { this.sock.destroy(); });
    }
    return this.closing;
  }
}

/** Announces a tracker periodically and answers queries by unicast. */
export class LanAnnouncer {
  private readonly socket: LanSocket;
  private timer: NodeJS.Timeout | undefined;
  private readonly counters: LanAnnouncerStats = { announcesSent: 0, queriesAnswered: 0, malformed: 0, sendErrors: 0 };

  constructor(private readonly opts: LanAnnouncerOptions) {
    // Fail early on bad configuration (throws a RangeError naming the field).
    encodeLanDatagram(this.datagram());
    this.socket = new LanSocket(opts, (msg, rinfo) => this.onDatagram(msg, rinfo));
  }

  get stats(): LanAnnouncerStats {
    return { ...this.counters };
  }

  /** Binds, sends a first announce, and re-announces every intervalMs. Returns the bound address. */
  async start(): Promise<Contact> {
    const bound = await this.socket.bind();
    void this.announceNow();
    this.timer = setInterval(() => void this.announceNow(), this.opts.intervalMs ?? LAN_ANNOUNCE_INTERVAL_MS);
    return bound;
  }

  /** Sends one announce to every target now. */
  async announceNow(): Promise<void> {
    const sent = await this.socket.sendAll(encodeLanDatagram(this.datagram()));
    this.counters.announcesSent += sent;
    this.counters.sendErrors += this.opts.targets.length - sent;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.socket.close();
  }

  private datagram(): LanDatagram {
    return {
      kind: 'announce',
      role: this.opts.role,
      peerId: this.opts.peerId,
      trackerPort: this.opts.trackerPort,
      contentIds: [...(this.opts.contentIds?.() ?? [])],
    };
  }

  private onDatagram(msg: Buffer, rinfo: RemoteInfo): void {
    const r = decodeLanDatagram(msg);
    if (!r.ok) {
      this.counters.malformed++;
      this.socket.warn('malformed-datagram', `refused datagram from ${rinfo.address}:${rinfo.port}: ${r.reason}`);
      return;
    }
    if (r.datagram.kind !== 'query') return; // other trackers' announces: not ours to handle
    void this.socket.send(encodeLanDatagram(this.datagram()), { host: rinfo.address, port: rinfo.port })
      .then((ok) => { if (ok) this.counters.queriesAnswered++; else this.counters.sendErrors++; });
  }
}

/** Finds a tracker on the segment: queries, and resolves with the first matching announce. */
export class LanDiscovery {
  private socket: LanSocket | undefined;
  private abort: ((e: Error) => void) | undefined;

  constructor(private readonly opts: LanDiscoveryOptions) {
    encodeLanDatagram(this.query());
  }

  /**
   * Binds, sends a query to every target (repeated every queryIntervalMs), and resolves with the
   * first announce that matches the role/content filters. Rejects with a LanDiscoveryError when
   * nothing matched within timeoutMs or close() was called. The socket is closed either way.
   */
  async discover(timeoutMs: number = LAN_DISCOVERY_TIMEOUT_MS): Promise<DiscoveredTracker> {
    if (this.socket) throw new LanDiscoveryError('discovery already running');
    let found: ((t: DiscoveredTracker) => void) | undefined;
    const result = new Promise<DiscoveredTracker>((resolve, reject) => {
      found = resolve;
      this.abort = reject;
    });
    result.catch(() => undefined); // rejected before it is awaited (close() during bind): not unhandled
    const socket = new LanSocket(this.opts, (msg, rinfo) => {
      const t = this.match(msg, rinfo, socket);
      if (t) found?.(t);
    });
    this.socket = socket;
    const timers: NodeJS.Timeout[] = [];
    try {
      await socket.bind();
      const query = encodeLanDatagram(this.query());
      void socket.sendAll(query);
      timers.push(setInterval(() => void socket.sendAll(query), this.opts.queryIntervalMs ?? LAN_QUERY_INTERVAL_MS));
      timers.push(setTimeout(() => {
        const where = this.opts.targets.map((t) => `${t.host}:${t.port}`).join(', ');
        this.abort?.(new LanDiscoveryError(`no tracker answered within ${timeoutMs} ms (queried ${where || 'nobody'})`));
      }, timeoutMs));
      return await result;
    } finally {
      timers.forEach((t) => clearTimeout(t));
      this.abort = undefined;
      this.socket = undefined;
      await socket.close();
    }
  }

  /** Stops a running discover() (it rejects). */
  async close(): Promise<void> {
    this.abort?.(new LanDiscoveryError('discovery closed'));
    await this.socket?.close();
  }

  private query(): LanDatagram {
    return {
      kind: 'query',
      role: this.opts.role ?? 'node',
      peerId: this.opts.peerId,
      trackerPort: 0,
      contentIds: this.opts.contentIds ?? [],
    };
  }

  private match(msg: Buffer, rinfo: RemoteInfo, socket: LanSocket): DiscoveredTracker | undefined {
    const r = decodeLanDatagram(msg);
    if (!r.ok) {
      socket.warn('malformed-datagram', `refused datagram from ${rinfo.address}:${rinfo.port}: ${r.reason}`);
      return undefined;
    }
    const d = r.datagram;
    if (d.kind !== 'announce' || d.peerId === this.opts.peerId) return undefined;
    if (this.opts.roles && !this.opts.roles.includes(d.role)) return undefined;
    const wanted = this.opts.contentIds ?? [];
    if (wanted.length > 0 && !wanted.some((c) => d.contentIds.includes(c))) return undefined;
    return {
      peerId: d.peerId,
      role: d.role,
      contact: { host: normalizeHost(rinfo.address), port: d.trackerPort },
      contentIds: d.contentIds,
    };
  }
}
