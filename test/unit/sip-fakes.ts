// Test doubles for the SIP layers: a virtual clock implementing SipClock, and a transport that
// records what the endpoint sends and lets a test answer as the proxy would.
import { parseSipMessage, serializeSipMessage } from '../../src/ims/sip-codec.js';
import type { SipMessage, SipRequest, SipResponse } from '../../src/ims/sip-message.js';
import { getHeader, responseFor } from '../../src/ims/sip-message.js';
import type { SipClock, TimerHandle } from '../../src/ims/sip-timers.js';
import type { SipTransport, SipTransportEvents, SipTransportName, SipTransportOptions } from '../../src/ims/sip-transport.js';

export class FakeSipClock implements SipClock {
  t = 1_000_000;
  private next = 1;
  private timers = new Map<number, { at: number; fn: () => void }>();

  now(): number {
    return this.t;
  }
  setTimer(fn: () => void, ms: number): TimerHandle {
    const id = this.next++;
    this.timers.set(id, { at: this.t + Math.max(0, ms), fn });
    return { id };
  }
  clearTimer(h: TimerHandle | undefined): void {
    if (h) this.timers.delete(h.id);
  }
  /** Runs every timer due within `ms`, in time order, moving the clock along. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      let best: [number, { at: number; fn: () => void }] | undefined;
      for (const e of this.timers) if (e[1].at <= end && (!best || e[1].at < best[1].at || (e[1].at === best[1].at && e[0] < best[0]))) best = e;
      if (!best) break;
      this.timers.delete(best[0]);
      this.t = best[1].at;
      best[1].fn();
    }
    this.t = end;
  }
  get pending(): number {
    return this.timers.size;
  }
}

/** Lets queued promise callbacks run (the endpoint awaits between steps). */
export async function flush(rounds = 10): Promise<void> {
  for (let i = 0; i < rounds; i++) await Promise.resolve();
}

export class FakeTransport implements SipTransport {
  readonly reliable: boolean;
  isOpen = false;
  sent: SipMessage[] = [];
  /** Answers requests as they are sent (the scripted proxy). */
  onSend: ((req: SipRequest, t: FakeTransport) => void) | undefined;

  constructor(readonly name: SipTransportName, readonly opts: SipTransportOptions, readonly events: SipTransportEvents) {
    this.reliable = name === 'tcp';
  }
  /** Local port; a reliable (TCP) transport gets a new one on every open, like a new connection. */
  port = 5099;
  private opened = 0;
  local() {
    return { host: '192.0.2.10', port: this.port };
  }
  async open(): Promise<void> {
    if (this.reliable && this.opened++ > 0) this.port++;
    this.isOpen = true;
  }
  send(data: Buffer): boolean {
    if (!this.isOpen) return false;
    const msg = parseSipMessage(data);
    this.sent.push(msg);
    if (msg.kind === 'request') this.onSend?.(msg, this);
    return true;
  }
  async close(): Promise<void> {
    this.isOpen = false;
  }
  /** Delivers a message as if it came from the proxy (through the real codec). */
  receive(msg: SipMessage): void {
    this.events.onMessage(parseSipMessage(serializeSipMessage(msg)));
  }
  requests(method?: string): SipRequest[] {
    return this.sent.filter((m): m is SipRequest => m.kind === 'request' && (!method || m.method === method));
  }
  responses(): SipResponse[] {
    return this.sent.filter((m): m is SipResponse => m.kind === 'response');
  }
}

/** A response to `req` mirroring Via/From/To/Call-ID/CSeq (as a registrar would build it). */
export function responseTo(req: SipRequest, status: number, reason: string, headers: { name: string; value: string }[] = []): SipResponse {
  const to = getHeader(req, 'To') ?? '';
  return responseFor(req, status, reason, /;tag=/.test(to) ? to : `${to};tag=reg1`, headers);
}

/** Holds the fake transport an endpoint created. */
export function transportFactory(): { create: (n: SipTransportName, o: SipTransportOptions, e: SipTransportEvents) => SipTransport; get: () => FakeTransport } {
  let made: FakeTransport | undefined;
  return {
    create: (n, o, e) => (made = new FakeTransport(n, o, e)),
    get: () => {
      if (!made) throw new Error('no transport created yet');
      return made;
    },
  };
}
