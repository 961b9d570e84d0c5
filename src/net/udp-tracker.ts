// The tracker's UDP socket: binds the tracker's address (the same port number as its TCP listener)
// and hands every datagram to the datagram front (src/tracker/datagram-front.ts), which answers
// through send(). A plain node:dgram socket with a permanent message listener (see udp-announce.ts
// for why not dgram-as-promised's recv()).
import { randomBytes } from 'node:crypto';
import * as dgram from 'node:dgram';
import type { Contact } from '../protocol/messages.js';
import { DatagramFront, type DatagramTracker } from '../tracker/datagram-front.js';
import { WarningLimiter } from './warning-limiter.js';

export interface UdpTrackerSocketOptions {
  host: string;
  port: number;
  onDatagram: (buf: Buffer, from: Contact) => void;
  onWarning?: (code: string, message: string) => void;
}

export interface UdpTrackerSocketStats {
  sendErrors: number;
}

function normalizeHost(h: string): string {
  return h.startsWith('::ffff:') && h.includes('.') ? h.slice(7) : h;
}

export class UdpTrackerSocket {
  private readonly sock: dgram.Socket;
  private readonly counters: UdpTrackerSocketStats = { sendErrors: 0 };
  private bound: Contact | undefined;

  constructor(private readonly opts: UdpTrackerSocketOptions) {
    this.sock = dgram.createSocket({ type: opts.host.includes(':') ? 'udp6' : 'udp4' });
    this.sock.on('message', (buf, rinfo) => opts.onDatagram(buf, { host: normalizeHost(rinfo.address), port: rinfo.port }));
    this.sock.on('error', (e) => opts.onWarning?.('udp-error', `tracker UDP socket: ${e.message}`));
  }

  get stats(): UdpTrackerSocketStats {
    return { ...this.counters };
  }

  get address(): Contact | undefined {
    return this.bound;
  }

  /** Binds host:port; rejects with an error naming the address when it is taken. */
  bind(): Promise<Contact> {
    return new Promise((resolve, reject) => {
      const fail = (e: Error) => reject(new Error(`tracker UDP ${this.opts.host}:${this.opts.port}: ${e.message}`));
      this.sock.once('error', fail);
      this.sock.bind(this.opts.port, this.opts.host, () => {
        this.sock.off('error', fail);
        // Many announces at once: a larger receive buffer drops fewer of them under bursts.
        try {
          this.sock.setRecvBufferSize(4 * 1024 * 1024);
          this.sock.setSendBufferSize(4 * 1024 * 1024);
        } catch {
          // capped by net.core.rmem_max: the default stays
        }
        const a = this.sock.address();
        this.bound = { host: normalizeHost(a.address), port: a.port };
        resolve(this.bound);
      });
    });
  }

  send(to: Contact, buf: Buffer): void {
    this.sock.send(buf, to.port, to.host, (err) => {
      if (err) {
        this.counters.sendErrors++;
        this.opts.onWarning?.('udp-send', `tracker UDP answer to ${to.host}:${to.port}: ${err.message}`);
      }
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      try {
        this.sock.close(() => resolve());
      } catch {
        resolve();
      }
    });
  }
}

export interface TrackerUdpOptions {
  tracker: DatagramTracker;
  host: string;
  port: number;
  /** Logs a dropped datagram (rate-limited by the caller) and socket warnings. */
  onWarning?: (code: string, message: string) => void;
}

export interface TrackerUdp {
  front: DatagramFront;
  socket: UdpTrackerSocket;
  close(): Promise<void>;
}

/** Binds the tracker's UDP socket and puts a datagram front (fresh random secret) behind it. */
export async function openTrackerUdp(o: TrackerUdpOptions): Promise<TrackerUdp> {
  let front: DatagramFront | undefined;
  // Anyone can send datagrams at will: the first drop of each kind is logged, later ones summed every 30 s.
  const limiter = new WarningLimiter((w) => o.onWarning?.(w.code, w.message), () => 'tracker UDP');
  const flush = setInterval(() => limiter.flush(), 30_000);
  flush.unref();
  const socket = new UdpTrackerSocket({ host: o.host, port: o.port, onDatagram: (buf, from) => front?.receive(buf, from), ...(o.onWarning ? { onWarning: o.onWarning } : {}) });
  front = new DatagramFront({
    tracker: o.tracker,
    now: Date.now,
    secret: randomBytes(32),
    send: (to, buf) => socket.send(to, buf),
    onDropped: (from: Contact, why: string) => limiter.report(why.startsWith('connection id') ? 'udp-spoofed' : 'udp-malformed', `dropped a datagram from ${from.host}:${from.port}: ${why}`),
  });
  try {
    await socket.bind();
  } catch (err) {
    clearInterval(flush);
    await socket.close();
    throw err;
  }
  return {
    front,
    socket,
    close: async () => {
      clearInterval(flush);
      await socket.close();
    },
  };
}
