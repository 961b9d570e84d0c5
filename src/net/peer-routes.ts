// The connection manager's per-connection bookkeeping: every live connection, the open ones per
// peer (tie-break survivors, newest last), outgoing dials still before their Hello, peers held in a
// handover, and the peers reported connected. Answers the routing lookups of send(to); the policy
// (when to dial, tie-breaks, peer events) stays in connection-manager.ts.
import type { Destination, PeerAddress } from '../engine/ports.js';
import type { Contact } from '../protocol/messages.js';
import { contactKey, sameContact } from './contact.js';
import type { PeerConnection } from './peer-connection.js';

/** A peer whose only connection ended while another was handshaking: sends queue until helloTimeoutMs. */
export interface Handover {
  address: PeerAddress;
  reason: string;
  deadline: number;
  queue: Buffer[];
  bytes: number;
}

export class PeerRoutes {
  /** Every connection not yet fully closed. */
  readonly conns = new Set<PeerConnection>();
  /** Connections with a completed Hello that may carry sends, per peer (newest last). */
  readonly candidates = new Map<string, PeerConnection[]>();
  /** Outgoing dials before their Hello, by dialled contact. */
  readonly dialing = new Map<string, PeerConnection>();
  readonly handovers = new Map<string, Handover>();
  /** Peers reported by onPeerConnected and not yet by onPeerDisconnected. */
  readonly connected = new Map<string, PeerAddress>();

  /** The connection sends to a peer go over (the newest survivor). */
  primary(peerId: string): PeerConnection | undefined {
    const list = this.candidates.get(peerId);
    return list?.[list.length - 1];
  }

  /** The primary connection of the peer whose Hello advertised `contact`. */
  primaryByContact(contact: Contact): PeerConnection | undefined {
    for (const list of this.candidates.values()) {
      const c = list[list.length - 1];
      if (c?.remote && sameContact(c.remote.contact, contact)) return c;
    }
    return undefined;
  }

  handoverByContact(contact: Contact): Handover | undefined {
    return [...this.handovers.values()].find((h) => sameContact(h.address.contact, contact));
  }

  /** An outgoing dial already under way to the destination's contact (or to its peer id). */
  pendingDial(to: Destination): PeerConnection | undefined {
    const id = to.peerId;
    return this.dialing.get(contactKey(to.contact))
      ?? (id !== undefined ? this.dialsTo(id)[0] : undefined);
  }

  /** Outgoing dials that expect this peer. */
  dialsTo(peerId: string): PeerConnection[] {
    return [...this.dialing.values()].filter((c) => c.dial?.expectedPeerId === peerId);
  }

  addDial(c: PeerConnection, contact: Contact): void {
    this.conns.add(c);
    this.dialing.set(contactKey(contact), c);
  }

  /** The dial is no longer before its Hello (answered or gone). */
  forgetDial(c: PeerConnection): void {
    if (!c.dial) return;
    const key = contactKey(c.dial.contact);
    if (this.dialing.get(key) === c) this.dialing.delete(key);
  }

  /**
   * Takes a connection off its peer's list: 'absent' when it was not there (retired by a tie-break
   * or given up locally), 'others' when another connection to the peer carries on, 'last' otherwise.
   */
  removeCandidate(peerId: string, c: PeerConnection): 'absent' | 'others' | 'last' {
    const list = this.candidates.get(peerId);
    const at = list ? list.indexOf(c) : -1;
    if (!list || at < 0) return 'absent';
    list.splice(at, 1);
    if (list.length > 0) return 'others';
    this.candidates.delete(peerId);
    return 'last';
  }

  /** Whether any connection is still connecting or waiting for the peer's Hello. */
  anyHandshaking(): boolean {
    return [...this.conns].some((o) => o.state === 'connecting' || o.state === 'handshake');
  }

  /** Queues a frame for a held peer; false when that would pass maxQueueBytes. */
  static hold(h: Handover, frame: Buffer, maxQueueBytes: number): boolean {
    if (h.bytes + frame.length > maxQueueBytes) return false;
    h.queue.push(frame);
    h.bytes += frame.length;
    return true;
  }

  /** Bytes queued in connections and handovers. */
  queuedBytes(): number {
    let queued = 0;
    for (const c of this.conns) queued += c.queuedBytes;
    for (const h of this.handovers.values()) queued += h.bytes;
    return queued;
  }
}
