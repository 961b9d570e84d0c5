// Tracker access control in IMS mode: an admission function for TrackerEngine's `admit` hook that
// lets a TrackerJoin through only with a valid ticket of the joining peer. The refusal text goes
// back to the peer in an Error{code: AccessDenied} message.
import type { KeyObject } from 'node:crypto';
import type { PeerAddress } from '../engine/ports.js';
import type { TrackerJoin } from '../protocol/messages.js';
import { verifyTicket, type TicketClaims, type TicketRefusal } from './ticket.js';

/** Same shape as TrackerEngine's AdmitFn: a refusal reason, or null to admit. */
export type TicketAdmitFn = (join: TrackerJoin, from: PeerAddress) => string | null;

export interface AdmissionDecision {
  peerId: string;
  contentId: string;
  admitted: boolean;
  code?: TicketRefusal;
  reason?: string;
  claims?: TicketClaims;
}

export interface TicketAdmissionOptions {
  /** Public keys whose tickets are accepted (the tracker's own, plus older ones while rotating). */
  keys: Array<{ keyId: string; publicKey: KeyObject }>;
  clock: { now(): number };
  /** When set, tickets must name this tracker contact (HOST:PORT). */
  tracker?: string;
  maxSkewMs?: number;
  /** Every decision, for logs and counters. */
  onDecision?: (d: AdmissionDecision) => void;
}

export function createTicketAdmission(opts: TicketAdmissionOptions): TicketAdmitFn {
  const keys = new Map(opts.keys.map((k) => [k.keyId, k.publicKey]));
  return (join, from) => {
    const verdict = verifyTicket(join.ticket, {
      keys,
      now: opts.clock.now(),
      peerId: from.peerId,
      ...(opts.tracker !== undefined ? { tracker: opts.tracker } : {}),
      ...(opts.maxSkewMs !== undefined ? { maxSkewMs: opts.maxSkewMs } : {}),
    });
    if (verdict.ok) {
      opts.onDecision?.({ peerId: from.peerId, contentId: join.contentId, admitted: true, claims: verdict.claims });
      return null;
    }
    opts.onDecision?.({ peerId: from.peerId, contentId: join.contentId, admitted: false, code: verdict.code, reason: verdict.reason });
    return verdict.reason;
  };
}
