// Counters of one live content and the LiveStats snapshot built from them (status API, simulator,
// benchmarks). Byte counts are encoded sizes (payload + frame overhead) of the content's data-plane
// messages: DataChunkResp is chunk traffic, BufferMapInfo / DataChunkReq / DataChunkReject are
// control traffic. Lag percentiles come from a fixed histogram (LAG_BUCKET_MS buckets), so memory
// stays constant however long a node plays.

import { PlaneCounters } from './plane/plane-core.js';

export interface LiveStats {
  role: 'source' | 'viewer';
  /** chunksOnTime / chunksDue from playback start (DONet's continuity index); null ("not yet playing") before anything is due. */
  continuityIndex: number | null;
  chunksDue: number;
  chunksOnTime: number;
  chunksSkipped: number;
  /** Visible stalls: runs of consecutive skipped chunks, plus rebuffers. */
  stalls: number;
  /** Playback waited for a chunk no partner had yet (episodes, total ms the schedule moved). */
  rebuffers: number;
  rebufferMs: number;
  /** startViewer → first chunk handed to the player. */
  startupDelayMs: number | null;
  /** Last chunk delivered: now − its source timestamp. */
  lagMs: number | null;
  lagP50Ms: number | null;
  lagP95Ms: number | null;
  bytesIn: number;
  bytesOut: number;
  chunkBytesIn: number;
  chunkBytesOut: number;
  controlBytesIn: number;
  controlBytesOut: number;
  /** DataChunkResp received: chunksStored + duplicates + badChunks + unsolicited + chunksNotStored. */
  chunksIn: number;
  /** Verified and stored in the buffer. */
  chunksStored: number;
  /** Verified but refused by the buffer (no room that the policy could free). */
  chunksNotStored: number;
  badChunks: number;
  duplicates: number;
  /** DataChunkResp we never asked for (dropped unread). */
  unsolicited: number;
  requestsSent: number;
  requestTimeouts: number;
  redundantRequests: number;
  /** Requests refused by partners (busy, missing, ...). */
  rejectsReceived: number;
  /** Requests we served / refused / dropped because the partner's map showed it had the chunk. */
  chunksServed: number;
  requestsRefused: number;
  servesCancelled: number;
  /** Source: requests answered 'busy' by the copies budget (sourceMaxCopiesPct). */
  sourceDeferred: number;
  /**
   * Send window (sendTargetDelayMs > 0; send-window.ts): bytes allowed in flight, bytes sent and not
   * yet confirmed by the receivers' maps, the delivery rate it implies, and the confirmation delays
   * (smoothed, and the smallest recent one). Null without a window or before the first confirmation.
   */
  sendWindowBytes: number | null;
  sendInFlightBytes: number | null;
  sendRateBps: number | null;
  sendDelayMs: number | null;
  sendBaseDelayMs: number | null;
  /** Partners dropped for bad chunks / for supplying nothing. */
  /** Pushed sub-streams (docs/live-push.md): chunks we pushed, pushes dropped (uplink full), chunks pushed to us. */
  chunksPushed: number;
  pushesDropped: number;
  chunksPushedIn: number;
  /** (partner, sub-stream) pairs we push; sub-streams a parent feeds us; parents left since the start. */
  pushChildren: number;
  pushFed: number;
  parentSwitches: number;
  /** Forward jumps of lag control (lagTargetMs). */
  lagJumps: number;
  partnersBlacklisted: number;
  partnersReplaced: number;
  bufferBytes: number;
  bufferCapBytes: number;
  windowChunks: number;
  /** Next chunk id to hand to the player (viewer). */
  playheadId: number | null;
  /** Newest chunk id we hold. */
  newestId: number | null;
  /** Source: data bytes published. */
  streamBytes: number;
  /** Source: chunks published. */
  chunksPublished: number;
  partners: number;
  partnerIds: string[];
  /** Current partners by chunks they supplied to us (most first), with chunks we served them. */
  suppliers: Array<{ peerId: string; chunks: number; chunksServed: number }>;
}

/** Histogram resolution of playback lag. */
export const LAG_BUCKET_MS = 50;
/** Lags beyond buckets × LAG_BUCKET_MS land in the last bucket. */
const LAG_BUCKETS = 2400;

/** A live content's counters: the plane's (data bytes are chunk bytes) and live's own. */
export class LiveCounters extends PlaneCounters {
  chunksSkipped = 0;
  stalls = 0;
  delivered = 0;
  chunksIn = 0;
  chunksStored = 0;
  chunksNotStored = 0;
  badChunks = 0;
  redundantRequests = 0;
  chunksServed = 0;
  sourceDeferred = 0;
  chunksPushed = 0;
  pushesDropped = 0;
  chunksPushedIn = 0;
  lagJumps = 0;
  partnersReplaced = 0;
  streamBytes = 0;
  chunksPublished = 0;
  lastLagMs: number | null = null;
  private readonly lagHist = new Uint32Array(LAG_BUCKETS);
  private lagSamples = 0;

  recordLag(lagMs: number): void {
    this.lastLagMs = lagMs;
    const b = Math.min(LAG_BUCKETS - 1, Math.max(0, Math.floor(lagMs / LAG_BUCKET_MS)));
    this.lagHist[b] = (this.lagHist[b] as number) + 1;
    this.lagSamples++;
  }

  /** Lag at percentile p (0..100), as the upper edge of its bucket; null without samples. */
  lagPercentile(p: number): number | null {
    if (this.lagSamples === 0) return null;
    const rank = Math.max(1, Math.ceil((p / 100) * this.lagSamples));
    let seen = 0;
    for (let b = 0; b < LAG_BUCKETS; b++) {
      seen += this.lagHist[b] as number;
      if (seen >= rank) return (b + 1) * LAG_BUCKET_MS;
    }
    return LAG_BUCKETS * LAG_BUCKET_MS;
  }
}
