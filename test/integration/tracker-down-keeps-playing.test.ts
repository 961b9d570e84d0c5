// The tracker is needed at bootstrap only (DONet): a source and 4 nodes play a live channel, the
// tracker is SIGKILLed, and the nodes keep playing from their partners (continuity >= 0.99 over the
// next 20 s, partners kept).
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeTestStream } from '../support/media.js';
import { killAll, startProc, status, tempDir, waitFor, waitUp, type Proc } from '../support/processes.js';
import { realTime } from '../support/real-time.js';

const NODES = 4;
const procs: Proc[] = [];
afterAll(() => killAll(procs));

describe('a box whose tracker is down', () => {
  it('keeps playing from its partners', realTime(90_000), async () => {
    const dir = tempDir('sd-tracker-down-');
    const input = makeTestStream({ seconds: 30, bitrateKbps: 800, path: join(dir, 'input.ts') });
    const tracker = startProc('tracker', dir, ['tracker', '--listen', '127.0.0.1:0', '--log-level', 'warn']);
    procs.push(tracker);
    const t = (await waitUp(tracker, 10_000, 'tracker')).node.contact;
    const source = startProc('source', dir, ['publish', 'live', '--tracker', t, '--channel', 'd', '--input', input, '--loop', '--listen', '127.0.0.1:0', '--log-level', 'warn']);
    procs.push(source);
    await waitUp(source, 10_000, 'source');
    const nodes: Proc[] = [];
    for (let i = 0; i < NODES; i++) {
      const n = startProc(`node${i}`, dir, ['node', '--tracker', t, '--listen', '127.0.0.1:0', '--watch', 'd', '--player', 'none', '--log-level', 'warn']);
      nodes.push(n);
      procs.push(n);
    }
    const playing = async () => Promise.all(nodes.map(async (n) => (await status(n))?.contents[0]));
    const before = await waitFor('every node playing with 2 partners', 45_000, playing, (cs) => cs.every((c) => (c?.chunksDue ?? 0) >= 8 && (c?.partners ?? 0) >= 2), { everyMs: 500 });
    await killAll([tracker]);
    await new Promise((r) => setTimeout(r, 20_000));
    const after = await playing();
    for (const [i, a] of after.entries()) {
      const due = (a?.chunksDue ?? 0) - (before[i]?.chunksDue ?? 0);
      const onTime = (a?.chunksOnTime ?? 0) - (before[i]?.chunksOnTime ?? 0);
      console.log(`tracker down: node${i} ${onTime}/${due} chunks on time, ${a?.partners} partners`);
      expect(due).toBeGreaterThanOrEqual(15);
      expect(onTime / due).toBeGreaterThanOrEqual(0.99);
      expect(a?.partners ?? 0).toBeGreaterThanOrEqual(1);
    }
  });
});
