// SIGKILL a node's two best partners (the two that supplied it most, the source excepted) in the
// middle of a live stream: its continuity over the rest of the run stays >= 0.99.
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeTestStream } from '../support/media.js';
import type { Status } from '../../src/control/status.js';
import { killAll, startProc, status, tempDir, waitFor, waitUp, type Proc } from '../support/processes.js';
import { realTime } from '../support/real-time.js';

const NODES = 10;
type ContentStatus = Status['contents'][number];
const procs: Proc[] = [];
afterAll(() => killAll(procs));

describe('losing the two best partners mid-stream', () => {
  it('keeps continuity >= 0.99', realTime(120_000), async () => {
    const dir = tempDir('sd-kill-');
    const input = makeTestStream({ seconds: 30, bitrateKbps: 1000, path: join(dir, 'input.ts') });
    const tracker = startProc('tracker', dir, ['tracker', '--listen', '127.0.0.1:0', '--log-level', 'warn']);
    procs.push(tracker);
    const t = (await waitUp(tracker, 10_000, 'tracker')).node.contact;
    const source = startProc('source', dir, ['publish', 'live', '--tracker', t, '--channel', 'k', '--input', input, '--loop', '--listen', '127.0.0.1:0', '--log-level', 'warn']);
    procs.push(source);
    const sourceId = (await waitUp(source, 10_000, 'source')).node.id;
    const nodes: Proc[] = [];
    for (let i = 0; i < NODES; i++) {
      const n = startProc(`node${i}`, dir, ['node', '--tracker', t, '--listen', '127.0.0.1:0', '--watch', 'k', '--player', 'none', '--log-level', 'warn']);
      nodes.push(n);
      procs.push(n);
    }
    // Settled: a node plays (15 chunks due) and gets chunks from at least two other nodes. The source
    // pushes each sub-stream to one partner, so a node it pushes much of the stream to depends little
    // on the others: the node watched is, of those, the one its two best other suppliers fed most.
    const fromOthers = (c: ContentStatus) => (c.suppliers ?? []).filter((p) => p.peerId !== sourceId && p.chunks > 0);
    const topTwo = (c: ContentStatus) => fromOthers(c).slice(0, 2).reduce((a, p) => a + p.chunks, 0);
    const [watched, before] = await waitFor('a node playing from two nodes besides the source', 60_000, async () => {
      let best: readonly [Proc, ContentStatus] | undefined;
      for (const n of nodes) {
        const c = (await status(n))?.contents[0];
        if (c && (c.chunksDue ?? 0) >= 15 && fromOthers(c).length >= 2 && (!best || topTwo(c) > topTwo(best[1]))) best = [n, c];
      }
      return best;
    }, (x) => x !== undefined, { everyMs: 500 });
    const byId = new Map<string, Proc>();
    for (const n of nodes) {
      const s = await status(n);
      if (s) byId.set(s.node.id, n);
    }
    const best = (before?.suppliers ?? []).filter((p) => p.peerId !== sourceId && byId.has(p.peerId)).slice(0, 2);
    expect(best.length).toBe(2);
    await killAll(best.map((b) => byId.get(b.peerId) as Proc));

    await new Promise((r) => setTimeout(r, 30_000));
    const after = (await status(watched))?.contents[0];
    const due = (after?.chunksDue ?? 0) - (before?.chunksDue ?? 0);
    const onTime = (after?.chunksOnTime ?? 0) - (before?.chunksOnTime ?? 0);
    const continuity = due > 0 ? onTime / due : 0;
    console.log(
      `kill: ${watched.name}'s best partners ${best.map((b) => `${b.peerId} (${b.chunks} chunks)`).join(', ')} killed; ` +
        `then ${onTime}/${due} chunks on time = ${continuity.toFixed(4)}; partners now ${after?.partners}`,
    );
    expect(due).toBeGreaterThanOrEqual(25);
    expect(continuity).toBeGreaterThanOrEqual(0.99);
    expect(after?.partnerIds.some((id) => best.some((b) => b.peerId === id))).toBe(false);
  });
});
