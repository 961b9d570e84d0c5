// Test doubles for the engine's ports: a hand-driven clock and a transport that records sends.
import type { Clock, Destination, Transport } from '../../src/engine/ports.js';
import type { Contact, Membership, MemberInfo, Message, MessageOf } from '../../src/protocol/messages.js';

export class ManualClock implements Clock {
  constructor(public t = 0) {}
  now(): number {
    return this.t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
}

export interface Sent {
  to: Destination;
  msg: Message;
}

export class RecordingTransport implements Transport {
  sent: Sent[] = [];
  disconnected: string[] = [];
  /** What send() returns. */
  accept = true;
  /** Which peers count as connected (unset: the engine is told nothing). */
  isConnected?: (peerId: string) => boolean;

  send(to: Destination, msg: Message): boolean {
    this.sent.push({ to, msg });
    return this.accept;
  }
  disconnect(peerId: string): void {
    this.disconnected.push(peerId);
  }
  /** Messages of one type (optionally to one peer id), in order. */
  of<T extends Message['type']>(type: T, toPeer?: string): Array<{ to: Destination; msg: MessageOf<T> }> {
    return this.sent.filter(
      (s): s is { to: Destination; msg: MessageOf<T> } =>
        s.msg.type === type && (toPeer === undefined || s.to.peerId === toPeer),
    );
  }
  clear(): void {
    this.sent = [];
    this.disconnected = [];
  }
}

export const contactOf = (peerId: string): Contact => ({ host: `${peerId}.test`, port: 7000 });
export const addr = (peerId: string) => ({ peerId, contact: contactOf(peerId) });

export function membership(peerId: string, seq: number, opts: Partial<Membership> = {}): Membership {
  return {
    type: 'Membership',
    peerId,
    contentId: '',
    activeContents: ['c1'],
    seq,
    contact: contactOf(peerId),
    ttlMs: 10_000,
    partnerCount: 0,
    reachability: 'unknown',
    ...opts,
  };
}

export function memberInfo(peerId: string, seq: number, opts: Partial<MemberInfo> = {}): MemberInfo {
  return { peerId, contact: contactOf(peerId), seq, ttlMs: 10_000, partnerCount: 0, reachability: 'unknown', ...opts };
}
