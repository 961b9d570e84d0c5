// What every content's data plane shares, live or download (docs/data-plane.md): identity, tunables,
// time, partners and their buffer maps, counters and a counting send, behind the one port of
// PeerEngine the plane uses. Each kind adds its own window (a live ChunkBuffer, a download's piece
// store) and its own counters and tunables on top (live-core.ts, download-core.ts).
import { payloadByteLength } from '../../protocol/codec.js';
import { FRAME_OVERHEAD_BYTES } from '../../protocol/framing.js';
import type { Message } from '../../protocol/messages.js';
import { RemoteBufferMap } from '../buffer-map.js';
import { LivePartners } from '../live-partners.js';
import type { Clock, Destination, PartnerAddress, Random } from '../ports.js';

/** The part of PeerEngine a content's data plane uses. */
export interface PlaneEnginePort {
  readonly peerId: string;
  /** Changes whenever partnerships change (optional: without it the list is re-read every tick). */
  readonly partnersVersion?: number;
  partnersOf(contentId: string): PartnerAddress[];
  isPartner(contentId: string, peerId: string): boolean;
  dropPartner(contentId: string, peerId: string, reason: string, blockMs?: number): void;
  send(to: Destination, msg: Message): boolean;
}

/** Ends a partnership from the data plane (forgotten there at once, removed and blocked in the engine). */
export type DropPeer = (peerId: string, reason: string, blockMs: number) => void;

/**
 * The counters every plane keeps (each kind adds its own). Bytes are encoded sizes of the content's
 * messages: DataChunkResp is data (a live chunk, a download piece), everything else control.
 */
export class PlaneCounters {
  bytesIn = 0;
  bytesOut = 0;
  dataBytesIn = 0;
  dataBytesOut = 0;
  controlBytesIn = 0;
  controlBytesOut = 0;
  duplicates = 0;
  unsolicited = 0;
  requestsSent = 0;
  requestTimeouts = 0;
  rejectsReceived = 0;
  requestsRefused = 0;
  servesCancelled = 0;
  partnersBlacklisted = 0;

  countIn(bytes: number, data: boolean): void {
    this.bytesIn += bytes;
    if (data) this.dataBytesIn += bytes;
    else this.controlBytesIn += bytes;
  }

  countOut(bytes: number, data: boolean): void {
    this.bytesOut += bytes;
    if (data) this.dataBytesOut += bytes;
    else this.controlBytesOut += bytes;
  }
}

/** The tunables every plane reads. */
export interface PlaneConfig {
  bufferMapPeriodMs: number;
  bufferMapMinGapMs: number;
  maxInFlightPerPartner: number;
  blacklistMs: number;
}

export interface PlaneCore<C extends PlaneConfig = PlaneConfig, K extends PlaneCounters = PlaneCounters, E extends PlaneEnginePort = PlaneEnginePort> {
  readonly contentId: string;
  readonly selfId: string;
  readonly config: C;
  readonly clock: Clock;
  readonly random: Random;
  readonly counters: K;
  /** The plane's view of the content's partners. */
  readonly partners: LivePartners;
  /** Partners' latest buffer maps (what they hold: whom to ask, and what not to send them). */
  readonly maps: RemoteBufferMap;
  readonly engine: E;
  /** Sends through the engine, counting the encoded bytes as chunk or control traffic; returns them (0: dropped). */
  send(to: Destination, msg: Message): number;
}

/** The core's shared fields for one content (each kind adds its window and listener). */
export function planeCore<C extends PlaneConfig, K extends PlaneCounters, E extends PlaneEnginePort>(
  o: { contentId: string; engine: E; config: C; clock: Clock; random: Random },
  counters: K,
): PlaneCore<C, K, E> {
  return {
    contentId: o.contentId,
    selfId: o.engine.peerId,
    config: o.config,
    clock: o.clock,
    random: o.random,
    counters,
    partners: new LivePartners(),
    maps: new RemoteBufferMap(),
    engine: o.engine,
    send: countedSend(o.engine, counters),
  };
}

/** A send through the engine that counts what left as chunk or control bytes. */
export function countedSend(engine: PlaneEnginePort, counters: PlaneCounters): (to: Destination, msg: Message) => number {
  return (to, msg) => {
    if (!engine.send(to, msg)) return 0;
    const bytes = messageBytes(msg);
    counters.countOut(bytes, isChunkMessage(msg));
    return bytes;
  };
}

/**
 * Reasons in DataChunkRejects. 'busy': ask me nothing for a while; 'preempted': your queued request
 * gave way to a newer chunk, ask again (anyone); anything else: do not ask me for this id again.
 */
export const RejectReason = {
  NotPartner: 'not-partner',
  Missing: 'missing',
  Busy: 'busy',
  Preempted: 'preempted',
  /** Sent to another partner a moment ago: ask it (downloads, repeatRefuseMs). */
  Relayed: 'relayed',
} as const;

/** Encoded size of a message on the wire: payload + frame overhead (0 when it cannot be encoded). */
export function messageBytes(msg: Message): number {
  try {
    return payloadByteLength(msg) + FRAME_OVERHEAD_BYTES;
  } catch {
    return 0;
  }
}

/** Whether a message is chunk traffic (everything else on the data plane is control traffic). */
export function isChunkMessage(msg: Message): boolean {
  return msg.type === 'DataChunkResp';
}

/** A verifier's verdict: true only when it says true; a verifier that throws fails the data. */
export function verifiedBy(check: () => unknown): boolean {
  try {
    return check() === true;
  } catch {
    return false;
  }
}

/** A partner sent data that failed verification: counted, the listener told, the partner dropped and blocked. */
export function dropBadSender(core: PlaneCore, drop: DropPeer, peerId: string, reason: string, tell: () => void): void {
  core.counters.partnersBlacklisted++;
  safely(tell);
  drop(peerId, reason, core.config.blacklistMs);
}

/** Runs a listener call, ignoring anything it throws (a listener must not break the data plane). */
export function safely(call: () => void): void {
  try {
    call();
  } catch {
    // ignored on purpose
  }
}
