// The transport's counters: what connections count as they go (NetCounters, shared by all
// connections of one manager) and the flat snapshot stats() returns.
import type { FrameDecoderStats } from '../protocol/framing.js';

/** Counted by the connections themselves. */
export interface NetCounters {
  bytesIn: number;
  bytesOut: number;
  /** Frames decoded / written, Hello and KeepAlive included. */
  messagesIn: number;
  messagesOut: number;
  /** send() calls that returned false, plus queued messages lost with their connection. */
  droppedSends: number;
  /** Messages whose peerId differed from their connection's Hello (dropped). */
  spoofed: number;
  /** Problems reported by the frame decoders (each resynced). */
  frameErrors: number;
  /** Messages that arrived before the Hello (dropped). */
  preHelloDropped: number;
}

/** Counted by the manager. */
export interface ManagerCounters extends NetCounters {
  slowPeersClosed: number;
  hostileClosed: number;
  idleClosed: number;
  helloTimeouts: number;
  /** Incoming connections closed at once because of maxConnections. */
  refused: number;
  /** Dial-back tests (Hello role 'probe') answered: our Hello went out, the connection was ended. */
  probesAnswered: number;
}

/**
 * Flat (all numbers) so it can go straight into metrics and the status model. The
 * FrameDecoderStats fields (framesOk, bytesSkipped, resyncs, crcErrors, badVersion, oversized,
 * unknownType, decodeErrors) are summed over all connections, past and present.
 */
export interface NetStats extends ManagerCounters, FrameDecoderStats {
  /** TCP connections in any state (dialling, handshake, open, ending). */
  connections: number;
  /** Peers with a completed Hello (as reported by onPeerConnected). */
  peers: number;
  /** Bytes waiting in socket buffers, pre-Hello queues and handover queues. */
  queuedBytes: number;
}

export function newManagerCounters(): ManagerCounters {
  return {
    bytesIn: 0, bytesOut: 0, messagesIn: 0, messagesOut: 0, droppedSends: 0, spoofed: 0, frameErrors: 0,
    preHelloDropped: 0, slowPeersClosed: 0, hostileClosed: 0, idleClosed: 0, helloTimeouts: 0, refused: 0,
    probesAnswered: 0,
  };
}

export function newDecoderStats(): FrameDecoderStats {
  return { framesOk: 0, bytesSkipped: 0, resyncs: 0, crcErrors: 0, badVersion: 0, oversized: 0, unknownType: 0, decodeErrors: 0 };
}

/** Adds `from` into `into`, field by field. */
export function addDecoderStats(into: FrameDecoderStats, from: Readonly<FrameDecoderStats>): void {
  for (const k of Object.keys(into) as (keyof FrameDecoderStats)[]) into[k] += from[k];
}
