// Tunables of the download data plane (pieces, requests, endgame, serving, record flushing). A plain
// object of non-negative whole numbers: the app config maps each field as a `download.*` tunable.
// Every field carries its unit in its name (Ms, Bps, Bytes, Pct) or is a count; flags are 0/1.
import { numberFieldProblems } from './tunable-problems.js';

// Each field's meaning: the MEANINGS record below the defaults.
export interface DownloadConfig {
  pieceBytes: number;
  maxInFlightPerPartner: number;
  requestTimeoutMs: number;
  endgameCopies: number;
  uploadSlotsPerPartner: number;
  uploadBps: number;
  maxServeQueueMs: number;
  sendTargetDelayMs: number;
  bufferMapPeriodMs: number;
  bufferMapMinGapMs: number;
  busyBackoffMs: number;
  blacklistMs: number;
  seedReleaseMs: number;
  manifestRetryMs: number;
  manifestFanout: number;
  recordFlushMs: number;
  cacheBytes: number;
  estimateWeightPct: number;
  initialThroughputBps: number;
  initialRttMs: number;
  fsyncPieces: number;
  recheckOnResume: number;
  announcePeriodMs: number;
  playWindowMs: number;
  playWindowMinPieces: number;
  playWindowMaxPieces: number;
  playUrgentMs: number;
  playUrgentCopies: number;
  playTailBytes: number;
  playHeadBytes: number;
  playStartMs: number;
  playHedgeMs: number;
  playSpreadMs: number;
  playPrebufferMs: number;
  repeatRefuseMs: number;
  repeatDueMs: number;
  relayedHoldMs: number;
  freshLeadMs: number;
}

export const DEFAULT_DOWNLOAD_CONFIG: Readonly<DownloadConfig> = Object.freeze({
  pieceBytes: 0,
  maxInFlightPerPartner: 8,
  requestTimeoutMs: 15_000,
  endgameCopies: 2,
  uploadSlotsPerPartner: 16,
  uploadBps: 0,
  maxServeQueueMs: 2000,
  sendTargetDelayMs: 400,
  bufferMapPeriodMs: 1000,
  bufferMapMinGapMs: 50,
  busyBackoffMs: 100,
  blacklistMs: 300_000,
  seedReleaseMs: 60_000,
  manifestRetryMs: 1000,
  manifestFanout: 3,
  recordFlushMs: 500,
  cacheBytes: 4 * 1024 * 1024,
  estimateWeightPct: 25,
  initialThroughputBps: 20_000_000,
  initialRttMs: 50,
  fsyncPieces: 0,
  recheckOnResume: 1,
  announcePeriodMs: 30_000,
  playWindowMs: 20_000,
  playWindowMinPieces: 4,
  playWindowMaxPieces: 64,
  playUrgentMs: 3000,
  playUrgentCopies: 1,
  playTailBytes: 256 * 1024,
  playHeadBytes: 256 * 1024,
  playStartMs: 1000,
  playHedgeMs: 0,
  playSpreadMs: 0,
  playPrebufferMs: 2250,
  repeatRefuseMs: 3000,
  repeatDueMs: 2000,
  relayedHoldMs: 1500,
  freshLeadMs: 3000,
});

/** What each field means (the configuration reference, docs/configuration.md, is generated from these). */
export const DOWNLOAD_CONFIG_MEANINGS = Object.freeze({
  pieceBytes: 'Piece size a publisher cuts files into: 0 = by file size (64 KiB, doubled until the file is at most 4,096 pieces: small pieces start playback sooner), or a power of two, 16 KiB … 2 MiB (doubled for files over 65,536 pieces).',
  maxInFlightPerPartner: "Most outstanding DataChunkReqs to one partner (the AIMD request window's ceiling).",
  requestTimeoutMs: 'An unanswered DataChunkReq is given up (and re-issued elsewhere) after this long.',
  endgameCopies: 'Endgame: most requests in flight for one piece (1 = no duplicate requests).',
  uploadSlotsPerPartner: "Most requests of one partner queued or in service here; more are refused ('busy').",
  uploadBps: "Pace of our piece uploads (this box's uplink share for downloads); 0 = unpaced (TCP paces).",
  maxServeQueueMs: "Paced: a request that would wait longer than this in our upload queue is refused ('busy').",
  sendTargetDelayMs: "Unpaced: queueing delay our piece uploads aim for, measured by when partners' buffer maps confirm the pieces (the send window live uses, send-window.ts): pieces wait in our queue, where a request can still be refused, and a viewer's request with a deadline (DataChunkDue) is served first, not in the kernel's send buffer behind a slow uplink; 0 = pieces leave at once.",
  bufferMapPeriodMs: 'Own BufferMapInfo goes to every partner at least this often.',
  bufferMapMinGapMs: 'A changed buffer map goes to partners at once, but not more often than this.',
  busyBackoffMs: "After a 'busy' refusal the partner is asked nothing for this long.",
  blacklistMs: 'A partner that sent a bad piece is dropped and not partnered again for this long.',
  seedReleaseMs: 'Complete: a partner that is complete too is let go (and not partnered for this long); 0 = keep.',
  manifestRetryMs: 'While the manifest is missing, it is asked of a few members this often.',
  manifestFanout: 'Members asked for the manifest per round.',
  recordFlushMs: 'The record of verified pieces is rewritten at most this often (and when a download ends).',
  cacheBytes: 'Bytes of pieces kept in memory for serving, over all downloads (the rest stays on disk).',
  estimateWeightPct: 'Weight (percent) of a new sample in the per-partner RTT/throughput averages.',
  initialThroughputBps: 'Throughput assumed for a partner before its first response.',
  initialRttMs: 'Round-trip time assumed for a partner before its first answer.',
  fsyncPieces: "1: `.part` is fdatasync'ed (in the background) before every record update, so recorded pieces survive a power loss; 0: recorded right after they are written (survives a process crash; after a power loss the recheck on resume finds pieces whose bytes were lost).",
  recheckOnResume: '1: pieces listed in a resumed record are hashed again before they are trusted (keep it with fsyncPieces 0).',
  announcePeriodMs: 'How often a publisher repeats its ContentAnnounce to the tracker.',
  playWindowMs: 'Played while it downloads: playback time ahead of the playhead whose pieces are fetched first, in deadline order (sized from the measured read rate).',
  playWindowMinPieces: 'Played while it downloads: fewest pieces in the playback window.',
  playWindowMaxPieces: 'Played while it downloads: most pieces in the playback window.',
  playUrgentMs: 'Played while it downloads: a window piece due sooner than this is urgent (may be asked of playUrgentCopies partners at once).',
  playUrgentCopies: 'Played while it downloads: most requests in flight for one urgent piece (1 = no duplicates).',
  playTailBytes: "Played while it downloads: the file's last bytes are fetched right after the playhead's piece (players read the end first: duration, index). An MPEG-TS film whose duration the box tells mpv (player/told-duration.ts) needs only its last 64 KiB instead.",
  playHeadBytes: "Played while it downloads: the bytes from the playhead the player reads before it shows anything (mpv probes an MPEG-TS film's streams over about a second of it). While the player holds no media (before its first frame, after a seek until it plays on), these pieces and the tail's are what the first frame waits for: asked for first, each due playStartMs after the play or the seek. 0 = the playhead's piece only.",
  playStartMs: "Played while it downloads: what the first frame waits for (the head and the tail) is due this long after the play or a seek. Holders serve the earliest deadline first: a viewer starting is served before other viewers' pieces due later, and after those that would otherwise stall sooner. 0 = due at once.",
  playHedgeMs: "Played while it downloads: hedged requests for what the first frame waits for. A piece the player needs now (the playhead's, the file's tail) that waits at a partner behind another one, or is still missing this long after it was asked, is also asked of a partner with nothing in flight from us; the copy that loses is cancelled. 0 = never (the default: in a flash crowd the copies cost other viewers' pieces, docs/downloads.md).",
  playSpreadMs: "Played while it downloads: a piece the player needs now (the playhead's, the file's tail) goes to a partner that holds none of the others it needs now, waiting up to this long for one before it queues behind another there (the first frame waits for the last of them). 0 = never waits (the default: with one holder, waiting sent it one needed piece at a time, behind pieces due later; docs/downloads.md).",
  playPrebufferMs: "Played on the TV while it downloads: the film's first this-many ms of media the box holds before it hands the film to mpv, when it knows the duration (from the manifest or the film's ends). The first frame waits for them; in a crowd starting together, a viewer that starts with one second in hand stalls a few seconds later (docs/downloads.md). 0 = mpv starts on what its probe read.",
  repeatRefuseMs: "A piece we sent to one partner less than this long ago is refused ('relayed') to another that does not play it within repeatDueMs: the first shares it, and a piece only we hold goes out once instead of to viewer after viewer (docs/downloads.md). 0 = never refused for that.",
  repeatDueMs: "A request for a piece due sooner than this (a DataChunkDue) is served even if we just sent that piece to someone else (repeatRefuseMs).",
  relayedHoldMs: "After a 'relayed' refusal, the partner that refused is not asked for that piece for this long (others that hold it are).",
  freshLeadMs: "A request with a deadline for a piece no other partner of ours holds (and we have not just sent) is served as if due this much sooner: the swarm can get it only from us, copies of other pieces from their other holders (docs/downloads.md). 0 = plain earliest deadline first.",
}) satisfies Readonly<Record<keyof DownloadConfig, string>>;

/** Returns the problems of a download config (empty when usable); each names the offending field. */
export function downloadConfigProblems(c: DownloadConfig): string[] {
  const problems = numberFieldProblems(c);
  if (c.maxInFlightPerPartner < 1) problems.push('maxInFlightPerPartner must be at least 1');
  if (c.requestTimeoutMs <= 0) problems.push('requestTimeoutMs must be > 0');
  if (c.endgameCopies < 1) problems.push('endgameCopies must be at least 1');
  if (c.uploadSlotsPerPartner < 1) problems.push('uploadSlotsPerPartner must be at least 1');
  if (c.bufferMapPeriodMs <= 0) problems.push('bufferMapPeriodMs must be > 0');
  if (c.manifestRetryMs <= 0) problems.push('manifestRetryMs must be > 0');
  if (c.manifestFanout < 1) problems.push('manifestFanout must be at least 1');
  if (c.estimateWeightPct < 1 || c.estimateWeightPct > 100) problems.push('estimateWeightPct must be in [1, 100]');
  if (c.initialThroughputBps <= 0) problems.push('initialThroughputBps must be > 0');
  if (c.recheckOnResume > 1) problems.push('recheckOnResume must be 0 or 1');
  if (c.fsyncPieces > 1) problems.push('fsyncPieces must be 0 or 1');
  if (c.playWindowMinPieces < 1) problems.push('playWindowMinPieces must be at least 1');
  if (c.playWindowMaxPieces < c.playWindowMinPieces) problems.push('playWindowMaxPieces must be at least playWindowMinPieces');
  if (c.playUrgentCopies < 1) problems.push('playUrgentCopies must be at least 1');
  if (c.playHedgeMs < 0) problems.push('playHedgeMs must be >= 0');
  if (c.playSpreadMs < 0) problems.push('playSpreadMs must be >= 0');
  return problems;
}
