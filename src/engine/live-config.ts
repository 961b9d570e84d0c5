// Tunables of the live data plane (buffers, buffer maps, data scheduler, serving). A plain object of
// non-negative whole numbers: the app config maps each field as a `live.*` tunable. Every field
// carries its unit in its name (Ms, Bps, Bytes, Pct, Chunks) or is a count.
import { numberFieldProblems } from './tunable-problems.js';
import { WireLimits } from '../protocol/messages.js';

// Each field's meaning: the MEANINGS record below the defaults.
export interface LiveConfig {
  chunkMs: number;
  prebufferMs: number;
  bufferMapPeriodMs: number;
  bufferMapMinGapMs: number;
  bufferMapFullMs: number;
  requestTimeoutMs: number;
  maxInFlightPerPartner: number;
  uploadSlotsPerPartner: number;
  urgentMs: number;
  windowChunksMax: number;
  windowChunksMin: number;
  nominalStreamBps: number;
  maxChunkBytes: number;
  uploadBps: number;
  maxServeQueueMs: number;
  sendTargetDelayMs: number;
  requestTimeoutMinMs: number;
  requestTimeoutMaxMs: number;
  unpacedSlotMs: number;
  serveNewestSharePct: number;
  serveDisplaceOlder: number;
  deadlineBucketMs: number;
  estimateWeightPct: number;
  initialThroughputBps: number;
  initialRttMs: number;
  busyBackoffMs: number;
  blacklistMs: number;
  uselessPartnerMs: number;
  partnerRefineMs: number;
  sourceFirstCopies: number;
  sourceRevealMs: number;
  sourceUploadPct: number;
  sourceMaxCopiesPct: number;
  rebufferWhenAhead: number;
  lagStepMs: number;
  maxExtraLagMs: number;
  joinStallMs: number;
  substreams: number;
  subscribeLeaseMs: number;
  pushGraceMs: number;
  sourcePushChildren: number;
  pushUploadPct: number;
  lagTargetMs: number;
}

export const DEFAULT_LIVE_CONFIG: Readonly<LiveConfig> = Object.freeze({
  chunkMs: 250,
  prebufferMs: 3000,
  bufferMapPeriodMs: 500,
  bufferMapMinGapMs: 200,
  bufferMapFullMs: 5000,
  requestTimeoutMs: 3000,
  maxInFlightPerPartner: 4,
  uploadSlotsPerPartner: 4,
  urgentMs: 4000,
  windowChunksMax: 160,
  windowChunksMin: 32,
  nominalStreamBps: 2_000_000,
  maxChunkBytes: 4 * 1024 * 1024,
  uploadBps: 0,
  maxServeQueueMs: 500,
  sendTargetDelayMs: 400,
  requestTimeoutMinMs: 2000,
  requestTimeoutMaxMs: 6000,
  unpacedSlotMs: 1000,
  serveNewestSharePct: 50,
  serveDisplaceOlder: 1,
  deadlineBucketMs: 0,
  estimateWeightPct: 25,
  initialThroughputBps: 2_000_000,
  initialRttMs: 200,
  busyBackoffMs: 150,
  blacklistMs: 300_000,
  uselessPartnerMs: 30_000,
  partnerRefineMs: 10_000,
  sourceFirstCopies: 2,
  sourceRevealMs: 1000,
  sourceUploadPct: 0,
  sourceMaxCopiesPct: 140,
  rebufferWhenAhead: 1,
  lagStepMs: 1000,
  maxExtraLagMs: 30_000,
  joinStallMs: 3000,
  substreams: 4,
  subscribeLeaseMs: 6000,
  pushGraceMs: 1000,
  sourcePushChildren: 1,
  pushUploadPct: 0,
  lagTargetMs: 0,
});

/** What each field means (the configuration reference, docs/configuration.md, is generated from these). */
export const LIVE_CONFIG_MEANINGS = Object.freeze({
  chunkMs: "Media duration of one live chunk (the source's chunker cuts at this). A relay forwards a chunk only once it holds all of it, so each hop costs a chunk's transmission time on its uplink: short chunks keep a swarm behind slow uplinks close to the source (docs/live-shaped-uplinks.md).",
  prebufferMs: 'Media held before playback starts; also how far behind the live edge a viewer joins.',
  bufferMapPeriodMs: 'Own BufferMapInfo goes to every partner at least this often (and at once to new partners).',
  bufferMapMinGapMs: 'A changed buffer map goes to partners at once, but not more often than this.',
  bufferMapFullMs: 'A partner that takes map deltas (BufferMapDelta: what changed since its last map) still gets our whole map this often; 0 = whole maps only.',
  requestTimeoutMs: 'An unanswered DataChunkReq is given up (and re-issued elsewhere) after this long.',
  maxInFlightPerPartner: 'Most outstanding DataChunkReqs to one partner.',
  uploadSlotsPerPartner: "Most requests of one partner queued or in service here; more are refused ('busy').",
  urgentMs: 'A missing chunk whose deadline is closer than this is urgent: it may be requested twice.',
  windowChunksMax: "Largest window (chunks) of one content's buffer, whatever the budget. The default, 160 chunks of 250 ms (40 s), covers the prebuffer plus maxExtraLagMs (a viewer that has fallen furthest behind is still served from its partners' windows) and keeps a 4 Mbit/s relay within 80 MB of RSS (docs/appliance-footprint.md).",
  windowChunksMin: "Smallest window (chunks) of one content's buffer (the byte cap still holds); the default is 8 s of 250 ms chunks.",
  nominalStreamBps: 'Stream rate assumed when sizing the window from the byte cap.',
  maxChunkBytes: 'A DataChunkResp carrying more data than this is a bad chunk.',
  uploadBps: "Pace of our chunk uploads (the box's uplink share for serving); 0 = unpaced.",
  maxServeQueueMs: "A request that would wait longer than this in our upload queue (paced, or at the send window's measured rate) is refused ('busy').",
  sendTargetDelayMs: "Unpaced: queueing delay our chunk uploads aim for, measured by when partners' buffer maps confirm the chunks (a LEDBAT-style send window, send-window.ts): chunks wait in our queue, not in the kernel's send buffer; 0 = chunks leave at once.",
  requestTimeoutMinMs: "Least timeout of a DataChunkReq once the partner's response delay is measured (the timeout is its smoothed delay plus four deviations; requestTimeoutMs before the first response).",
  requestTimeoutMaxMs: 'Largest timeout of a DataChunkReq derived from the partner\'s measured response delay.',
  unpacedSlotMs: "Unpaced: a served request holds its partner's upload slot this long.",
  serveNewestSharePct: 'Viewer: percentage of our serves that take the request for the newest chunk; the rest go round-robin (a source: always newest).',
  serveDisplaceOlder: "A request arriving at a full upload queue may displace a queued one for an older chunk: 0 never; 1 only one that prefetches the requester's edge (newer than anything its map shows); 2 any.",
  deadlineBucketMs: "Beyond the urgent zone the picker orders by rarity, then deadline (0, the default: DONet's rarest-first as a mixed strategy); > 0: by deadline in buckets of this size, then rarity.",
  estimateWeightPct: 'Weight (percent) of a new sample in the per-partner RTT/throughput averages.',
  initialThroughputBps: 'Throughput assumed for a partner before its first response.',
  initialRttMs: 'Round-trip time assumed for a partner before its first answer.',
  busyBackoffMs: "After a 'busy' refusal the partner is asked nothing for this long.",
  blacklistMs: 'A partner that sent a bad chunk is dropped and not partnered again for this long.',
  uselessPartnerMs: 'A partner with no chunk exchange either way for this long is replaced (0 = never).',
  partnerRefineMs: 'While we skip chunks, the partner that supplied least is replaced this often (0 = never).',
  sourceFirstCopies: 'Source: each new chunk is first advertised to this many partners (0 = to all at once).',
  sourceRevealMs: 'Source: a chunk this old is advertised to every partner.',
  sourceUploadPct: 'Source: chunk serving is paced at this percentage of the stream rate it publishes (0 = no limit).',
  sourceMaxCopiesPct: "Source: copies served per published chunk on average, in percent (0 = no budget). A request for a chunk already served once is answered 'busy' while the budget is spent, unless the requester plays it within a chunk's time (the deadline its request carries), or the requester is a newcomer (source-copies.ts).",
  rebufferWhenAhead: '1: a chunk no partner has yet at its deadline pauses playback (rebuffer) instead of being skipped.',
  lagStepMs: 'After a skipped chunk playback waits this much longer, so its lag adapts to the swarm (0 = never).',
  maxExtraLagMs: 'Most lag lagStepMs adds over a viewing.',
  joinStallMs: "Viewer: when no partner holds the join point's chunks for this long, join again nearer the edge.",
  substreams: 'Sub-streams a live content is pushed in (chunk i is on sub-stream i mod this): a viewer subscribes to one partner per sub-stream, which sends it each new chunk without a request; pulling repairs the gaps (docs/live-push.md). By default only the source pushes (pushUploadPct 0): one child per sub-stream. 0 = pull only. Every node of a swarm must use the same value.',
  subscribeLeaseMs: 'A push subscription lapses unless renewed within this long (renewed every third of it).',
  pushGraceMs: 'A chunk of a sub-stream we are subscribed to is pulled only once a partner has advertised it this long without its push arriving (or when it is urgent).',
  sourcePushChildren: 'Source: partners it pushes each sub-stream to (the rest of the swarm is fed by them); its other serving is repair within the copies budget.',
  pushUploadPct: 'Viewer: pushes it takes on for its own partners, in percent of its measured upload (in stream copies); 0 (the default) = a viewer does not push, only the source does (measured better behind scarce shaped uplinks, docs/live-push.md).',
  lagTargetMs: 'Viewer: playback that falls this far behind the newest chunk partners advertise jumps forward to the join point (the chunks jumped over count as skipped); 0 = never.',
}) satisfies Readonly<Record<keyof LiveConfig, string>>;

/** Returns the problems of a live config (empty when usable); each names the offending field. */
export function liveConfigProblems(c: LiveConfig): string[] {
  const problems = numberFieldProblems(c);
  if (c.chunkMs <= 0) problems.push('chunkMs must be > 0');
  if (c.bufferMapPeriodMs <= 0) problems.push('bufferMapPeriodMs must be > 0');
  if (c.requestTimeoutMs <= 0) problems.push('requestTimeoutMs must be > 0');
  if (c.requestTimeoutMaxMs < c.requestTimeoutMinMs) problems.push('requestTimeoutMaxMs must be >= requestTimeoutMinMs');
  if (c.maxInFlightPerPartner < 1) problems.push('maxInFlightPerPartner must be at least 1');
  if (c.uploadSlotsPerPartner < 1) problems.push('uploadSlotsPerPartner must be at least 1');
  if (c.windowChunksMin < 2) problems.push('windowChunksMin must be at least 2');
  if (c.windowChunksMax < c.windowChunksMin) problems.push('windowChunksMax must be >= windowChunksMin');
  if (c.maxChunkBytes < 1) problems.push('maxChunkBytes must be at least 1');
  if (c.serveNewestSharePct > 100) problems.push('serveNewestSharePct must be in [0, 100]');
  if (c.estimateWeightPct < 1 || c.estimateWeightPct > 100) problems.push('estimateWeightPct must be in [1, 100]');
  if (c.initialThroughputBps <= 0) problems.push('initialThroughputBps must be > 0');
  if (!Number.isInteger(c.substreams) || c.substreams > WireLimits.maxSubstreams) problems.push(`substreams must be a whole number in 0..${WireLimits.maxSubstreams} (0 = pull only)`);
  if (c.pushUploadPct > 1000) problems.push('pushUploadPct must be in [0, 1000]');
  return problems;
}
