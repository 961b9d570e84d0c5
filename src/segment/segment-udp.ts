// The main node's UDP sockets on the segment (dgram-as-promised, like src/net/udp-announce.ts):
//   - SegmentProbe: asks "is there a local tracker?" (a LAN query) every probeMs and reports every
//     announce it hears (the election's input; the LanAnnouncer of the tracker answers by unicast);
//   - ShareSocket: the shared-uplink coordination (share-datagram.ts): reports to the tracker, plans
//     back, on segment.coordinationPort.
// Datagrams are received through the createSocket callback (a permanent listener); send failures are
// counted and reported as warnings, never thrown.
import DgramAsPromised from 'dgram-as-promised';
import type { RemoteInfo, SocketAsPromised } from 'dgram-as-promised';
import type { Contact } from '../protocol/messages.js';
import { decodeLanDatagram, encodeLanDatagram } from '../net/lan-datagram.js';
import { decodeShareDatagram, encodeShareDatagram, type ShareDatagram } from './share-datagram.js';

export interface UdpWarning {
  code: string;
  message: string;
}

class UdpEndpoint {
  private readonly sock: SocketAsPromised;
  private open = false;
  sendErrors = 0;

  constructor(
    onDatagram: (msg: Buffer, rinfo: RemoteInfo) => void,
    private readonly onWarning: (w: UdpWarning) => void,
  ) {
    this.sock = DgramAsPromised.createSocket({ type: 'udp4', reuseAddr: true }, onDatagram);
    this.sock.socket.on('error', (e) => onWarning({ code: 'udp-error', message: `UDP socket error: ${e.message}` }));
  }

  async bind(host: string, port: number, broadcast: boolean): Promise<Contact> {
    const a = await this.sock.bind(port, host);
    this.open = true;
    if (broadcast) this.sock.setBroadcast(true);
    return { host: a.address, port: a.port };
  }

  joinGroup(group: string, iface?: string): void {
    try {
      this.sock.addMembership(group, iface);
    } catch (e) {
      this.onWarning({ code: 'multicast', message: `cannot join multicast group ${group}: ${(e as Error).message}` });
    }
  }

  async send(buf: Buffer, to: Contact): Promise<boolean> {
    if (!this.open) return false;
    try {
      await this.sock.send(buf, to.port, to.host);
      return true;
    } catch (e) {
      this.sendErrors++;
      if (this.sendErrors <= 3 || this.sendErrors % 100 === 0) {
        this.onWarning({ code: 'udp-send', message: `UDP send to ${to.host}:${to.port} failed (${this.sendErrors} so far): ${(e as Error).message}` });
      }
      return false;
    }
  }

  async close(): Promise<void> {
    const was = this.open;
    this.open = false;
    if (was) await this.sock.close().catch(() => undefined);
    this.sock.destroy();
  }
}

export interface HeardTracker {
  peerId: string;
  role: string;
  contact: Contact;
  contentIds: string[];
}

/** Periodic LAN query; every announce heard goes to onAnnounce. */
export class SegmentProbe {
  private readonly ep: UdpEndpoint;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly o: { peerId: string; targets: Contact[]; bindHost: string; intervalMs: number; onAnnounce: (t: HeardTracker) => void; onWarning: (w: UdpWarning) => void },
  ) {
    this.ep = new UdpEndpoint((msg, rinfo) => this.onDatagram(msg, rinfo), o.onWarning);
  }

  async start(): Promise<void> {
    await this.ep.bind(this.o.bindHost, 0, true);
    this.probe();
    this.timer = setInterval(() => this.probe(), this.o.intervalMs);
  }

  probe(): void {
    const q = encodeLanDatagram({ kind: 'query', role: 'main', peerId: this.o.peerId, trackerPort: 0, contentIds: [] });
    for (const t of this.o.targets) void this.ep.send(q, t);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.ep.close();
  }

  private onDatagram(msg: Buffer, rinfo: RemoteInfo): void {
    const r = decodeLanDatagram(msg);
    if (!r.ok || r.datagram.kind !== 'announce' || r.datagram.peerId === this.o.peerId) return;
    const d = r.datagram;
    this.o.onAnnounce({ peerId: d.peerId, role: d.role, contact: { host: rinfo.address, port: d.trackerPort }, contentIds: d.contentIds });
  }
}

/** The coordination socket: reports out, plans in (follower); reports in, plans out (tracker). */
export class ShareSocket {
  private readonly ep: UdpEndpoint;
  malformed = 0;

  constructor(
    private readonly o: { onDatagram: (d: ShareDatagram, from: Contact) => void; onWarning: (w: UdpWarning) => void },
  ) {
    this.ep = new UdpEndpoint((msg, rinfo) => this.onDatagram(msg, rinfo), o.onWarning);
  }

  bind(host: string, port: number): Promise<Contact> {
    return this.ep.bind(host, port, false);
  }

  send(d: ShareDatagram, to: Contact): Promise<boolean> {
    return this.ep.send(encodeShareDatagram(d), to);
  }

  close(): Promise<void> {
    return this.ep.close();
  }

  private onDatagram(msg: Buffer, rinfo: RemoteInfo): void {
    const r = decodeShareDatagram(msg);
    if (!r.ok) {
      this.malformed++;
      return;
    }
    this.o.onDatagram(r.datagram, { host: rinfo.address, port: rinfo.port });
  }
}
