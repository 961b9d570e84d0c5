// What the parts of one live content share (the fetching side, the serving side and their glue):
// identity, tunables, time, counters, partners, the current buffer (replaced when the budget is
// re-split) and a counting send. Also the part of PeerEngine the data plane uses, as a port.
import { payloadByteLength } from '../protocol/codec.js';
import { FRAME_OVERHEAD_BYTES } from '../protocol/framing.js';
import type { Message } from '../protocol/messages.js';
import type { RemoteBufferMap } from './buffer-map.js';
import type { ChunkBuffer } from './chunk-buffer.js';
import type { LiveConfig } from './live-config.js';
import type { LiveEvents } from './live-ports.js';
import type { LivePartners } from './live-partners.js';
import type { LiveCounters } from './live-stats.js';
import type { Clock, Destination, PartnerAddress, PeerAddress, Random } from './ports.js';

/** The part of PeerEngine the live data plane uses. */
export interface LiveEnginePort {
  readonly peerId: string;
  /** Changes whenever partnerships change (optional: without it the list is re-read every tick). */
  readonly partnersVersion?: number;
  partnersOf(contentId: string): PartnerAddress[];
  isPartner(contentId: string, peerId: string): boolean;
  dropPartner(contentId: string, peerId: string, reason: string, blockMs?: number): void;
  send(to: Destination, msg: Message): boolean;
}

export interface LiveCore {
  readonly contentId: string;
  readonly selfId: string;
  readonly config: LiveConfig;
  readonly clock: Clock;
  readonly random: Random;
  readonly counters: LiveCounters;
  readonly partners: LivePartners;
  /** Partners' latest buffer maps (what they hold: whom to ask, and what not to send them). */
  readonly maps: RemoteBufferMap;
  readonly engine: LiveEnginePort;
  readonly events: LiveEvents | undefined;
  /** The content's buffer (a new object after a budget re-split). */
  buffer: ChunkBuffer;
  /** Sends through the engine, counting the encoded bytes as chunk or control traffic; returns them (0: dropped). */
  send(to: PeerAddress, msg: Message): number;
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

/** Runs a listener call, ignoring anything it throws (a listener must not break the data plane). */
export function safely(call: () => void): void {
  try {
    call();
  } catch {
    // ignored on purpose
  }
}
