// Counters of one download content and the DownloadStats snapshot built from them (status API,
// progress output, tests, benchmarks). Byte counts are encoded sizes (payload + frame overhead) of
// the content's data-plane messages: DataChunkResp is piece traffic, everything else (buffer maps,
// requests, rejects, manifests) is control traffic.
import { PlaneCounters } from './plane/plane-core.js';

export type DownloadState = 'waiting-manifest' | 'downloading' | 'seeding' | 'failed';

export interface DownloadStats {
  state: DownloadState;
  /** From the manifest (null until it is known). */
  name: string | null;
  sizeBytes: number | null;
  pieceBytes: number | null;
  pieces: number | null;
  /** Verified pieces held, and their bytes. */
  piecesVerified: number;
  bytesVerified: number;
  /** bytesVerified ÷ sizeBytes (0 until the manifest is known). */
  progress: number;
  /** Pieces taken from the record of an earlier run (resume) and pieces fetched in this run. */
  piecesAtStart: number;
  piecesFetched: number;
  bytesIn: number;
  bytesOut: number;
  pieceBytesIn: number;
  pieceBytesOut: number;
  controlBytesIn: number;
  controlBytesOut: number;
  /** Pieces that failed verification (each one's sender was dropped and blocked). */
  badPieces: number;
  /** Manifests that did not hash to the content id. */
  badManifests: number;
  /** Verified copies of pieces we already had (endgame, late answers). */
  duplicates: number;
  unsolicited: number;
  requestsSent: number;
  requestTimeouts: number;
  /** Endgame: extra requests for pieces already in flight elsewhere. */
  endgameRequests: number;
  endgame: boolean;
  /** Requests given up because a seek left their pieces outside the playback window. */
  requestsCancelled: number;
  /** Played while it downloads: the playback window (pieces [from, to)) the on-demand picker fills first; null otherwise. */
  playback: { from: number; to: number; held: number; contiguous: number; inFlight: number } | null;
  rejectsReceived: number;
  piecesServed: number;
  /** Requests with a deadline (DataChunkDue) we sent, and ones partners sent us (served before the others). */
  dueRequestsSent: number;
  dueRequestsIn: number;
  requestsRefused: number;
  /** Requests refused 'relayed': we had just sent that piece to another partner (repeatRefuseMs). */
  relayedRefusals: number;
  servesCancelled: number;
  partnersBlacklisted: number;
  /** Complete partners let go while we were complete too. */
  seedsReleased: number;
  partners: number;
  partnerIds: string[];
  /** Distinct peers we served at least one piece to. */
  peersServed: number;
  /** Partners by pieces they supplied (most first), with pieces we served them. */
  suppliers: Array<{ peerId: string; pieces: number; piecesServed: number }>;
  /** Time from the start of this run to the last piece (null until complete; 0 when it started complete). */
  completedInMs: number | null;
  error: { kind: string; message: string } | null;
}

/** A download's counters: the plane's (data bytes are piece bytes) and the download's own. */
export class DownloadCounters extends PlaneCounters {
  piecesFetched = 0;
  badPieces = 0;
  badManifests = 0;
  endgameRequests = 0;
  requestsCancelled = 0;
  piecesServed = 0;
  dueRequestsSent = 0;
  dueRequestsIn = 0;
  relayedRefusals = 0;
  seedsReleased = 0;
  readonly servedPeers = new Set<string>();
}

/** The playback window [from, to) as `status` shows it: its pieces held, held in a row from its start, requests in flight. */
export function playbackWindowStats(w: { from: number; to: number }, has: (id: number) => boolean, inFlight: number): NonNullable<DownloadStats['playback']> {
  let held = 0;
  let contiguous = 0;
  for (let id = w.from; id < w.to; id++) {
    if (!has(id)) continue;
    held++;
    if (contiguous === id - w.from) contiguous++;
  }
  return { ...w, held, contiguous, inFlight };
}
