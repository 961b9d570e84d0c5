// Real transports from the user agent to its outbound proxy (the P-CSCF / registrar), the only SIP
// hop a UE talks to. UDP: a socket connected to the proxy (so ICMP "port unreachable" surfaces as
// ECONNREFUSED and only the proxy's datagrams are accepted); one datagram = one message. TCP: one
// persistent connection, Content-Length framing, CRLF keep-alive pongs; requests from the proxy
// arrive on it too (the registered Contact names its local port, so the proxy reuses it).
import * as dgram from 'node:dgram';
import { lookup } from 'node:dns/promises';
import * as net from 'node:net';
import { DEFAULT_SIP_PARSE_LIMITS, parseSipMessage, SipStreamDecoder, type SipParseLimits } from './sip-codec.js';
import type { SipMessage } from './sip-message.js';

export type SipTransportName = 'udp' | 'tcp';

export interface SipTransportEvents {
  onMessage(msg: SipMessage): void;
  /** Recoverable trouble: a datagram that did not parse, ICMP unreachable... */
  onWarning(message: string, err?: Error): void;
  /** ICMP port unreachable on UDP: the proxy is not listening (pending transactions may fail fast). */
  onUnreachable?(err: Error): void;
  /** The connection (TCP) is gone; a new open() is needed. */
  onClosed(reason: string): void;
}

export interface SipTransportOptions {
  remote: { host: string; port: number };
  /** Local address to bind ('' = chosen by the system for the route to the proxy). */
  localHost?: string;
  /** Local port (0 = ephemeral). */
  localPort?: number;
  limits?: SipParseLimits;
  connectTimeoutMs?: number;
}

export interface SipTransport {
  readonly name: SipTransportName;
  readonly reliable: boolean;
  readonly isOpen: boolean;
  /** Local address and port of the open socket (what Via and Contact carry). */
  local(): { host: string; port: number };
  open(): Promise<void>;
  /** Sends bytes to the proxy; false when the transport is not open. */
  send(data: Buffer): boolean;
  close(): Promise<void>;
}

async function resolve(host: string): Promise<{ address: string; family: number }> {
  if (net.isIP(host)) return { address: host, family: net.isIP(host) };
  const r = await lookup(host);
  return { address: r.address, family: r.family };
}

/** What both transports share: the open socket (undefined when closed) and its local address. */
abstract class SocketTransport<S> {
  protected socket: S | undefined;
  protected localAddr = { host: '', port: 0 };

  constructor(protected readonly opts: SipTransportOptions, protected readonly events: SipTransportEvents) {}

  get isOpen(): boolean {
    return this.socket !== undefined;
  }

  local(): { host: string; port: number } {
    return { ...this.localAddr };
  }
}

export class UdpTransport extends SocketTransport<dgram.Socket> implements SipTransport {
  readonly name = 'udp' as const;
  readonly reliable = false;

  async open(): Promise<void> {
    if (this.socket) return;
    const remote = await resolve(this.opts.remote.host);
    const socket = dgram.createSocket({ type: remote.family === 6 ? 'udp6' : 'udp4' });
    const limits = this.opts.limits ?? DEFAULT_SIP_PARSE_LIMITS;
    await new Promise<void>((res, rej) => {
      socket.once('error', rej);
      socket.bind({ port: this.opts.localPort ?? 0, ...(this.opts.localHost ? { address: this.opts.localHost } : {}) }, () => {
        socket.connect(this.opts.remote.port, remote.address, () => {
          socket.off('error', rej);
          res();
        });
      });
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNREFUSED') this.events.onUnreachable?.(err);
      else this.events.onWarning(`SIP UDP socket error: ${err.message}`, err);
    });
    socket.on('message', (data) => {
      let msg: SipMessage;
      try {
        msg = parseSipMessage(data, limits);
      } catch (err) {
        if (data.length <= 4 && data.toString().trim() === '') return; // keep-alive
        this.events.onWarning(`dropped unparsable SIP datagram (${data.length} bytes): ${(err as Error).message}`);
        return;
      }
      this.events.onMessage(msg);
    });
    const a = socket.address();
    this.localAddr = { host: a.address, port: a.port };
    this.socket = socket;
  }

  send(data: Buffer): boolean {
    if (!this.socket) return false;
    this.socket.send(data, (err) => {
      if (err) this.events.onWarning(`SIP UDP send failed: ${err.message}`, err);
    });
    return true;
  }

  async close(): Promise<void> {
    const s = this.socket;
    this.socket = undefined;
    if (s) await new Promise<void>((r) => s.close(() => r()));
  }
}

export class TcpTransport extends SocketTransport<net.Socket> implements SipTransport {
  readonly name = 'tcp' as const;
  readonly reliable = true;

  async open(): Promise<void> {
    if (this.socket) return;
    const remote = await resolve(this.opts.remote.host);
    const decoder = new SipStreamDecoder(this.opts.limits ?? DEFAULT_SIP_PARSE_LIMITS);
    const socket = net.connect({
      host: remote.address,
      port: this.opts.remote.port,
      ...(this.opts.localHost ? { localAddress: this.opts.localHost } : {}),
      ...(this.opts.localPort ? { localPort: this.opts.localPort } : {}),
    });
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 30_000);
    await new Promise<void>((res, rej) => {
      const timer = setTimeout(() => {
        socket.destroy();
        rej(new Error(`connect timed out after ${this.opts.connectTimeoutMs} ms`));
      }, this.opts.connectTimeoutMs ?? 10_000);
      socket.once('error', (err) => {
        clearTimeout(timer);
        rej(err);
      });
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        res();
      });
    });
    this.localAddr = { host: socket.localAddress ?? '', port: socket.localPort ?? 0 };
    this.socket = socket;
    let closeReason = 'connection closed by the proxy';
    socket.on('data', (chunk: Buffer) => {
      try {
        for (const item of decoder.push(chunk)) {
          if (item.ping) socket.write('\r\n');
          else if (item.message) this.events.onMessage(item.message);
        }
      } catch (err) {
        closeReason = `unparsable SIP stream from the proxy: ${(err as Error).message}`;
        socket.destroy();
      }
    });
    socket.on('error', (err) => {
      closeReason = `connection error: ${err.message}`;
    });
    socket.on('close', () => {
      if (this.socket !== socket) return;
      this.socket = undefined;
      this.events.onClosed(closeReason);
    });
  }

  send(data: Buffer): boolean {
    if (!this.socket || this.socket.destroyed) return false;
    this.socket.write(data);
    return true;
  }

  async close(): Promise<void> {
    const s = this.socket;
    this.socket = undefined;
    if (!s) return;
    await new Promise<void>((r) => {
      const timer = setTimeout(() => {
        s.destroy();
        r();
      }, 1000);
      s.once('close', () => {
        clearTimeout(timer);
        r();
      });
      s.end();
    });
  }
}

export function createSipTransport(name: SipTransportName, opts: SipTransportOptions, events: SipTransportEvents): SipTransport {
  return name === 'tcp' ? new TcpTransport(opts, events) : new UdpTransport(opts, events);
}
