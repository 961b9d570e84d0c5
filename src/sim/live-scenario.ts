// One live-streaming scenario in the simulator, end to end: a source, N viewers arriving over a
// window, heterogeneous upload, optional churn (kill a fraction per minute, the same number of new
// arrivals), optional liars; then per-node figures and the summary the benchmark prints. Shared by
// the simulator tests and scripts/bench/live-sim.ts.
import type { EngineConfig } from '../engine/engine-config.js';
import type { LiveConfig } from '../engine/live-config.js';
import type { LiveStats } from '../engine/live-stats.js';
import type { SimPeer } from './simulator.js';
import { Simulator } from './simulator.js';
import type { SimNetworkConfig } from './sim-network.js';
import { linkOf, scheduleFaults, type ScenarioFaults } from './scenario-faults.js';
import type { PlayedCheck } from './sim-live.js';

export interface UploadClass {
  /** Share of the nodes in this class (shares are normalised). */
  share: number;
  /** Upload as a multiple of the stream rate. */
  factor: number;
  /** Engine overrides for the class (e.g. partners in proportion to the uplink). */
  engine?: Partial<EngineConfig>;
}

export interface LiveScenario {
  seed: number;
  nodes: number;
  streamBps: number;
  /** Virtual time the run lasts. */
  durationMs: number;
  /** Arrivals uniform in [arrivalStartMs, arrivalStartMs + arrivalWindowMs]. */
  arrivalStartMs: number;
  arrivalWindowMs: number;
  /** Node upload classes (default: everyone at 2× the stream rate). */
  upload?: UploadClass[];
  /** Instead of classes: the upload factor of each node by index (cycled), as a lab's list of links. */
  uploadFactors?: number[];
  /** Source link upload as a multiple of the stream rate (default 4). */
  sourceUploadFactor?: number;
  /** Fraction of live nodes killed (and replaced by new arrivals) per minute, from churnStartMs. */
  churnPerMinute?: number;
  churnStartMs?: number;
  /** How often churn is applied (default 6 s: a tenth of the per-minute fraction each time). */
  churnStepMs?: number;
  /** This many nodes, evenly spread over the arrival order, corrupt every chunk they serve. */
  liars?: number;
  live?: Partial<LiveConfig>;
  engine?: Partial<EngineConfig>;
  sourceEngine?: Partial<EngineConfig>;
  network?: Partial<SimNetworkConfig>;
  /** NAT'd viewers, access latency, pauses, partitions (network faults are in `network`). */
  faults?: ScenarioFaults;
  /** Chunk serving paced at this percentage of each node's link (default 95; 0: unpaced, as real nodes). */
  pacingPct?: number;
  /** Verify every chunk handed to a player (summary.played). */
  checkPlayed?: boolean;
  budgetBytes?: number;
  /** Only nodes with at least this many chunks due count in continuity figures (default 10). */
  minChunksDue?: number;
  /**
   * An honest node that ran at least this long (virtual ms) without a single chunk falling due
   * "never played": it counts as continuity 0 and in nodesNeverPlayed (default 10 s).
   */
  neverPlayedAfterMs?: number;
  /**
   * Continuity covers [measureFromMs, durationMs] (default 0: the whole run): the chunks that fell
   * due in it. Startup covers every join; lag every delivered chunk of the run.
   */
  measureFromMs?: number;
  /** Called every everyMs of virtual time (inspection: time series, debugging). */
  probe?: { everyMs: number; fn: (sim: Simulator) => void };
}

export interface NodeResult {
  peerId: string;
  liar: boolean;
  alive: boolean;
  joinAt: number;
  /** Virtual ms the node ran (join → kill or end of run). */
  ranMs: number;
  /** Behind a NAT (cannot be dialled). */
  natted: boolean;
  /** Paused or cut off by a partition at some point (cannot be expected to play meanwhile). */
  disturbed: boolean;
  uploadFactor: number;
  /** Stats at the end (or when the node was killed). */
  stats: LiveStats;
  /** Chunks due / on time within the measured interval. */
  due: number;
  onTime: number;
}

export interface ScenarioSummary {
  nodes: number;
  /** Nodes that ever ran (initial + churn arrivals) and those counted in continuity figures. */
  nodesRun: number;
  nodesMeasured: number;
  /** Honest nodes that ran neverPlayedAfterMs without playing a chunk (counted as continuity 0). */
  nodesNeverPlayed: number;
  continuityMean: number;
  continuityP5: number;
  continuityMin: number;
  startupP50Ms: number | null;
  startupP95Ms: number | null;
  /** Steady-state lag: percentiles over live nodes of the lag of the last chunk each handed over. */
  lagP50Ms: number | null;
  lagP95Ms: number | null;
  /** Whole run (startup catch-up included): 95th percentile over nodes of their 95th-percentile lag. */
  lagRunP95Ms: number | null;
  sourceUploadFactor: number;
  /** Per measured node: rebuffer episodes and their total time (waits for chunks nobody had yet), mean. */
  rebuffersMean: number;
  rebufferMsMean: number;
  /** Data plane: non-chunk bytes ÷ all bytes of live messages. */
  controlOverhead: number;
  /** Whole network (membership, tracker, partnership too): non-chunk bytes ÷ all bytes. */
  networkControlOverhead: number;
  /** The same, per control message type: its bytes ÷ all bytes (which messages the overhead is made of). */
  networkControlByType: Record<string, number>;
  badChunksDetected: number;
  /** Chunks held in any node's buffer at the end that fail verification (must be 0). */
  badChunksStored: number;
  /** With checkPlayed: what the players were handed. */
  played: PlayedCheck | null;
  killed: number;
  realMs: number;
  /** Virtual seconds run by all viewers together (the simulator's work: node-seconds per real second). */
  nodeSeconds: number;
}

export interface ScenarioResult {
  summary: ScenarioSummary;
  nodes: NodeResult[];
  sim: Simulator;
}

export const DEFAULT_CHURN_STEP_MS = 6000;

/** Stride coprime with 100: consecutive indices land far apart in the 100 positions. */
const CLASS_STRIDE = 37;

/**
 * Upload class of node `index`: classes are dealt in proportion to their shares over every 100
 * consecutive indices, interleaved (index × 37 mod 100), so even the first 10 nodes get the mix.
 */
export function uploadClassOf(classes: UploadClass[], index: number): UploadClass {
  const total = classes.reduce((s, c) => s + c.share, 0);
  const slots = 100;
  const pos = (index * CLASS_STRIDE) % slots;
  let acc = 0;
  for (const c of classes) {
    acc += (c.share / total) * slots;
    if (pos < Math.round(acc)) return c;
  }
  return classes[classes.length - 1] as UploadClass;
}

export function uploadFactorOf(classes: UploadClass[], index: number): number {
  return uploadClassOf(classes, index).factor;
}

/** Liars sit at evenly spaced positions of the initial arrival order (never the very first nodes). */
export function isLiarIndex(index: number, liars: number, nodes: number): boolean {
  if (liars <= 0 || index >= nodes) return false;
  const gap = nodes / liars;
  return Math.floor(index % gap) === Math.floor(gap / 2);
}

export function runLiveScenario(s: LiveScenario): ScenarioResult {
  const started = Date.now();
  const live = { chunkMs: 1000, ...s.live };
  const chunkBytes = Math.round((s.streamBps * live.chunkMs) / 8000);
  const upload = s.upload ?? [{ share: 1, factor: 2 }];
  const liars = s.liars ?? 0;
  const listed = s.uploadFactors;
  const factorAt = (i: number): number => (listed && listed.length > 0 ? (listed[i % listed.length] as number) : uploadFactorOf(upload, i));
  const sim = new Simulator({
    seed: s.seed,
    nodes: 0,
    arrivalWindowMs: 0,
    engine: s.engine,
    network: s.network,
    uploadBps: (i) => Math.round(s.streamBps * factorAt(i)),
    linkFor: (i) => linkOf(s.faults, i),
    engineFor: (i) => uploadClassOf(upload, i).engine,
    live: {
      chunkBytes,
      config: live,
      budgetBytes: s.budgetBytes,
      sourceUploadBps: Math.round(s.streamBps * (s.sourceUploadFactor ?? 4)),
      sourceEngine: s.sourceEngine,
      isLiar: (i) => isLiarIndex(i, liars, s.nodes),
      pacingPct: s.pacingPct,
      checkPlayed: s.checkPlayed,
    },
  });
  const arrivals: number[] = [];
  for (let i = 0; i < s.nodes; i++) arrivals.push(s.arrivalStartMs + Math.round(sim.random.next() * s.arrivalWindowMs));
  arrivals.sort((a, b) => a - b);
  for (const at of arrivals) sim.spawn(at);

  let killed = 0;
  const churn = s.churnPerMinute ?? 0;
  if (churn > 0) {
    const step = s.churnStepMs ?? DEFAULT_CHURN_STEP_MS;
    const perStep = (churn * step) / 60_000;
    for (let t = s.churnStartMs ?? 0; t < s.durationMs; t += step) {
      sim.at(t, () => {
        const victims = sim.killFraction(perStep);
        killed += victims.length;
        // The same number of newcomers, spread over the step.
        for (let i = 0; i < victims.length; i++) sim.spawn(t + Math.round(((i + 0.5) * step) / victims.length));
      });
    }
  }
  const disturbed = scheduleFaults(sim, s.faults, s.durationMs);
  if (s.probe) for (let t = s.probe.everyMs; t <= s.durationMs; t += s.probe.everyMs) sim.at(t, s.probe.fn);
  const from = s.measureFromMs ?? 0;
  const atStart = new Map<string, { due: number; onTime: number }>();
  if (from > 0) {
    sim.runUntil(from);
    for (const p of sim.peers()) {
      const st = p.live?.stats(sim.contentId);
      if (st) atStart.set(p.peerId, { due: st.chunksDue, onTime: st.chunksOnTime });
    }
  }
  sim.runUntil(s.durationMs);

  const nodes: NodeResult[] = sim
    .peers()
    .filter((p): p is SimPeer & { live: NonNullable<SimPeer['live']> } => p.live !== undefined)
    .map((p) => {
      const stats = p.live.stats(sim.contentId) as LiveStats;
      const base = atStart.get(p.peerId) ?? { due: 0, onTime: 0 };
      return {
        peerId: p.peerId,
        liar: isLiarIndex(p.index, liars, s.nodes),
        alive: p.alive,
        joinAt: p.joinAt,
        ranMs: (p.leftAt ?? s.durationMs) - p.joinAt,
        natted: linkOf(s.faults, p.index)?.reachable === false,
        disturbed: disturbed.has(p.peerId),
        uploadFactor: factorAt(p.index),
        stats,
        due: stats.chunksDue - base.due,
        onTime: stats.chunksOnTime - base.onTime,
      };
    });
  return { summary: summarise(s, sim, nodes, killed, Date.now() - started), nodes, sim };
}

function summarise(s: LiveScenario, sim: Simulator, nodes: NodeResult[], killed: number, realMs: number): ScenarioSummary {
  const honest = nodes.filter((n) => !n.liar);
  const neverPlayed = honest.filter((n) => n.stats.chunksDue === 0 && n.ranMs >= (s.neverPlayedAfterMs ?? 10_000));
  const played = honest.filter((n) => n.due >= (s.minChunksDue ?? 10));
  const measured = [...played, ...neverPlayed];
  // A node that never played is a failure (0), never left out and never a perfect score.
  const cont = [...played.map((n) => n.onTime / n.due), ...neverPlayed.map(() => 0)].sort((a, b) => a - b);
  const startup = honest.map((n) => n.stats.startupDelayMs).filter((x): x is number => x !== null);
  const lagNow = honest.filter((n) => n.alive).map((n) => n.stats.lagMs).filter((x): x is number => x !== null);
  const lag95 = honest.map((n) => n.stats.lagP95Ms).filter((x): x is number => x !== null);
  const source = sim.live?.source.stats(sim.contentId);
  let control = 0;
  let all = 0;
  let bad = 0;
  for (const n of nodes) {
    control += n.stats.controlBytesIn + n.stats.controlBytesOut;
    all += n.stats.bytesIn + n.stats.bytesOut;
    bad += n.stats.badChunks;
  }
  const net = sim.network.stats;
  return {
    nodes: s.nodes,
    nodesRun: nodes.length,
    nodesMeasured: measured.length,
    nodesNeverPlayed: neverPlayed.length,
    continuityMean: cont.length ? cont.reduce((a, b) => a + b, 0) / cont.length : 0,
    continuityP5: percentile(cont, 5) ?? 0,
    continuityMin: cont[0] ?? 0,
    startupP50Ms: percentile(startup, 50),
    startupP95Ms: percentile(startup, 95),
    lagP50Ms: percentile(lagNow, 50),
    lagP95Ms: percentile(lagNow, 95),
    lagRunP95Ms: percentile(lag95, 95),
    sourceUploadFactor: source && source.streamBytes > 0 ? source.bytesOut / source.streamBytes : 0,
    rebuffersMean: mean(played.map((n) => n.stats.rebuffers)),
    rebufferMsMean: mean(played.map((n) => n.stats.rebufferMs)),
    controlOverhead: all > 0 ? control / all : 0,
    networkControlOverhead: net.bytes > 0 ? net.controlBytes / net.bytes : 0,
    networkControlByType: Object.fromEntries(Object.entries(net.bytesByType).filter(([t]) => t !== 'DataChunkResp').map(([t, b]) => [t, net.bytes > 0 ? b / net.bytes : 0])),
    badChunksDetected: bad,
    badChunksStored: countBadStored(sim),
    played: s.checkPlayed ? { ...(sim.live?.played ?? { chunks: 0, unverified: 0, outOfOrder: 0 }) } : null,
    killed,
    realMs,
    nodeSeconds: nodes.reduce((a, n) => a + n.ranMs, 0) / 1000,
  };
}

/** Chunks in live nodes' buffers that fail the pattern check (a lie that got stored). */
function countBadStored(sim: Simulator): number {
  const plane = sim.live;
  if (!plane) return 0;
  let bad = 0;
  for (const p of sim.peers()) {
    const buffer = p.live?.bufferOf(sim.contentId);
    if (!buffer) continue;
    for (const id of buffer.heldIds()) {
      const c = buffer.get(id);
      if (c && !plane.verifier.verify(sim.contentId, c)) bad++;
    }
  }
  return bad;
}

function mean(xs: number[]): number {
  return xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** Nearest-rank percentile of an ascending-sorted copy; null when empty. */
export function percentile(values: number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}
