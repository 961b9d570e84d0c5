// What must hold after every simulated live run, whatever the seed and the faults (docs/simulator.md):
// the checks of the seed sweep (scripts/sim-sweep.ts). Each violation names the invariant and the node.
import type { LiveScenario, ScenarioResult } from './live-scenario.js';

export interface Violation {
  invariant: string;
  detail: string;
}

export interface InvariantOptions {
  /** Least continuity of an undisturbed honest viewer with at least 1× upload that ran long enough. */
  continuityFloor: number;
  /** Such a viewer counts only with this many chunks due in the measured interval (default 20). */
  minChunksDue?: number;
}

export function checkInvariants(s: LiveScenario, r: ScenarioResult, opts: InvariantOptions): Violation[] {
  const out: Violation[] = [];
  const v = (invariant: string, detail: string) => out.push({ invariant, detail });
  const sum = r.summary;
  if (sum.badChunksStored > 0) v('no-unverified-stored', `${sum.badChunksStored} chunks in buffers fail verification`);
  if (sum.played) {
    if (sum.played.unverified > 0) v('no-unverified-played', `${sum.played.unverified} of ${sum.played.chunks} played chunks fail verification`);
    if (sum.played.outOfOrder > 0) v('played-in-order', `${sum.played.outOfOrder} chunks handed to a player out of order or twice`);
  }
  const budget = s.budgetBytes ?? 64 * 1024 * 1024;
  const source = r.sim.live?.source.stats(r.sim.contentId);
  const all = source ? [{ peerId: 'source', stats: source }, ...r.nodes] : r.nodes;
  for (const n of all) {
    const st = n.stats;
    if (st.bufferBytes > st.bufferCapBytes || st.bufferCapBytes > budget) {
      v('buffer-within-budget', `${n.peerId}: ${st.bufferBytes} bytes held, cap ${st.bufferCapBytes}, budget ${budget}`);
    }
    const accounted = st.chunksStored + st.duplicates + st.badChunks + st.unsolicited + st.chunksNotStored;
    if (st.chunksIn !== accounted) {
      v('chunk-counters', `${n.peerId}: ${st.chunksIn} chunks in ≠ ${st.chunksStored} stored + ${st.duplicates} duplicates + ${st.badChunks} bad + ${st.unsolicited} unsolicited + ${st.chunksNotStored} not stored`);
    }
  }
  const minDue = opts.minChunksDue ?? 20;
  for (const n of r.nodes) {
    if (n.liar || n.disturbed || !n.alive || n.uploadFactor < 1 || n.due < minDue) continue;
    const c = n.onTime / n.due;
    if (c < opts.continuityFloor) v('continuity-floor', `${n.peerId} (upload ${n.uploadFactor}×${n.natted ? ', NAT' : ''}): continuity ${c.toFixed(3)} < ${opts.continuityFloor} (${n.onTime}/${n.due})`);
  }
  if (sum.nodesNeverPlayed > 0) {
    const never = r.nodes.filter((n) => !n.liar && !n.disturbed && n.stats.chunksDue === 0 && n.ranMs >= (s.neverPlayedAfterMs ?? 10_000));
    if (never.length > 0) v('every-viewer-plays', `${never.length} undisturbed viewers never played: ${never.slice(0, 5).map((n) => n.peerId).join(', ')}`);
  }
  return out;
}
