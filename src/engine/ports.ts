// The engine's only windows on the world. The engine imports nothing from node:net, node:dgram,
// node:fs or timers: drivers (real sockets in src/net, the simulator in src/sim) implement these.
import type { Contact, Message } from '../protocol/messages.js';

/** A contact no one observed: the wire's 'unknown' (host ''). */
export const NO_CONTACT: Readonly<Contact> = Object.freeze({ host: '', port: 0 });

/** Milliseconds on a monotonic-enough clock (wall clock in production, virtual in the simulator). */
export interface Clock {
  now(): number;
}

/** Seeded randomness in the simulator, Math.random in production. Returns a float in [0, 1). */
export interface Random {
  next(): number;
}

/** A peer we know by id and listening address. */
export interface PeerAddress {
  peerId: string;
  contact: Contact;
  /** The peer's TCP source address:port as our socket sees it (its observed address), when known. */
  source?: Contact;
}

/** A partner as the data planes see it (PeerEngine.partnersOf). */
export interface PartnerAddress extends PeerAddress {
  /**
   * This partnership's identity: a partnership that ends and forms again (a quick leave and re-join)
   * gets a new epoch, so a data plane that looks between the two sees a new partner, not the old one.
   */
  epoch?: number;
}

/** Where to send: a known peer, or only a contact (the tracker before its Hello is known). */
export interface Destination {
  peerId?: string;
  contact: Contact;
}

export interface Transport {
  /**
   * Queues a message for a peer, connecting to its contact if no connection exists.
   * Returns false when the message was dropped (send queue full, connection limit, unreachable);
   * the engine treats that like a lost message (timers recover).
   */
  send(to: Destination, msg: Message): boolean;
  /** The relation with this peer is over: close its connection (no-op when none). */
  disconnect(peerId: string): void;
  /** Whether a connection to this peer is up (a member behind a NAT can be asked only then). */
  isConnected?(peerId: string): boolean;
}

/** Recoverable trouble the engine reports; never thrown. */
export interface EngineWarning {
  code: string;
  message: string;
  peerId?: string;
  contentId?: string;
}

/** Typed notifications out of the engine (all optional). */
export interface EngineEvents {
  partnerAdded?(contentId: string, peerId: string): void;
  partnerRemoved?(contentId: string, peerId: string, reason: string): void;
  memberAdded?(peerId: string): void;
  memberExpired?(peerId: string): void;
  redirected?(contentId: string, deputyPeerId: string): void;
  warning?(w: EngineWarning): void;
}
