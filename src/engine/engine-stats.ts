// Counters and the read-only snapshot an engine reports (status API, simulator, tests).
import type { ContentKind } from '../protocol/messages.js';

/** Monotonic counters of one engine. */
export interface EngineStats {
  messagesIn: number;
  messagesOut: number;
  /** Transport.send returned false (dropped: queue full, limit, unreachable). */
  sendFailures: number;
  /** Messages about a content we are not active in (ignored). */
  ignoredInactive: number;
  /** Messages the engine does not handle (Hello, KeepAlive, content messages without a handler...). */
  ignoredOther: number;
  /** Inputs that were malformed or inconsistent (spoofed Membership, unexpected answers...). */
  rejectedInput: number;
  /** Periodic own-Membership rounds (each goes to several peers). */
  membershipRounds: number;
  membersReqSent: number;
  membersRespSent: number;
  membersExpired: number;
  membersEvicted: number;
  partnershipReqSent: number;
  /** Incoming partnership requests we accepted / refused. */
  partnershipAccepted: number;
  partnershipRefused: number;
  /** Our partnership requests the other side refused / never answered. */
  partnershipDenied: number;
  partnershipTimeouts: number;
  partnersRemovedStale: number;
  partnersRemovedExtra: number;
  partnersLostDisconnect: number;
  trackerJoinsSent: number;
  /** Periodic re-announces to the tracker, and tracker connections closed once joins were answered. */
  trackerAnnounces: number;
  /** Re-announces and leaves handed to UDP (src/net/udp-tracker-client.ts). */
  trackerDatagramAnnounces: number;
  trackerDisconnects: number;
  redirectsFollowed: number;
  deputyTimeouts: number;
  deputyAnswers: number;
  errorsReceived: number;
}

export function newEngineStats(): EngineStats {
  return {
    messagesIn: 0,
    messagesOut: 0,
    sendFailures: 0,
    ignoredInactive: 0,
    ignoredOther: 0,
    rejectedInput: 0,
    membershipRounds: 0,
    membersReqSent: 0,
    membersRespSent: 0,
    membersExpired: 0,
    membersEvicted: 0,
    partnershipReqSent: 0,
    partnershipAccepted: 0,
    partnershipRefused: 0,
    partnershipDenied: 0,
    partnershipTimeouts: 0,
    partnersRemovedStale: 0,
    partnersRemovedExtra: 0,
    partnersLostDisconnect: 0,
    trackerJoinsSent: 0,
    trackerAnnounces: 0,
    trackerDatagramAnnounces: 0,
    trackerDisconnects: 0,
    redirectsFollowed: 0,
    deputyTimeouts: 0,
    deputyAnswers: 0,
    errorsReceived: 0,
  };
}

/** Where a content's join stands (see tracker-client.ts). */
export type JoinPhase = 'asking-tracker' | 'asking-deputy' | 'joined' | 'refused';

export interface ContentSnapshot {
  id: string;
  kind: ContentKind;
  partners: string[];
  /** Outgoing partnership requests awaiting an answer. */
  pending: number;
  join: JoinPhase;
}

export interface EngineSnapshot {
  peerId: string;
  role: string;
  /** Entries in the mCache. */
  members: number;
  contents: ContentSnapshot[];
  stats: EngineStats;
}
