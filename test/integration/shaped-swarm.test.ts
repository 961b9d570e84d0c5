// A live swarm behind shaped home uplinks, in network namespaces (root only; skipped otherwise;
// test/support/shaped-swarm.ts): a tracker, a source whose uplink is capped with tc tbf at 3x the
// stream, and 8 boxes with uplinks of 3x down to 1.5x the stream, one at 0.8x (tbf `latency 400ms`).
// After a 20 s warm-up, over 40 s: the boxes with at least 1x uplink play with continuity >= 0.98
// (mean >= 0.99), few requests time out, the source uploads at most 1.5 copies, its kernel send
// buffers hold at most 512 KB, and the players stay within 3 s of the source (median). Before the
// send window (docs/live-shaped-uplinks.md) this swarm measured continuity mean 0.85 / min 0.76 for
// those boxes, 171 timeouts for ~400 chunks due, source upload 4.2x, 1.2 MB in its send buffers and
// 16 s of lag; with the send window and 1 s chunks 0.94-1.00 (mean) at 1.7-2.5x. With 250 ms chunks
// and the source's budget read from the requester's deadline every box measured 1.000 at 1.01-1.10x
// (the targets: continuity >= 0.99 for every box >= 1x, source <= 1.5x).
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_LIVE_CONFIG } from '../../src/engine/live-config.js';
import { makeTestStream } from '../support/media.js';
import { netnsAvailable, removeStaleLabs } from '../support/netns.js';
import { tempDir } from '../support/processes.js';
import { realTime } from '../support/real-time.js';
import { ShapedSwarm, windowFigures } from '../support/shaped-swarm.js';

const WARMUP_MS = 20_000;
const streamChunkMs = DEFAULT_LIVE_CONFIG.chunkMs;
const MEASURE_MS = 40_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let swarm: ShapedSwarm | undefined;
afterAll(async () => {
  await swarm?.cleanup();
});

describe.skipIf(!netnsAvailable())('live swarm behind shaped uplinks (network namespaces, tc tbf)', () => {
  it('boxes with at least 1x uplink play on, the source and the queues stay bounded', realTime(150_000), async () => {
    await swarm?.cleanup();
    removeStaleLabs();
    const dir = tempDir('sd-shaped-');
    const input = makeTestStream({ seconds: 40, bitrateKbps: 800, path: join(dir, 'input.ts') });
    const streamBps = (statSync(input).size * 8) / 40;
    const sw = new ShapedSwarm({ shaped: true, boxes: 8, streamBps, sourceFactor: 3, input, channel: 'shapedtest', dir });
    swarm = sw;
    await sw.start();
    await sleep(WARMUP_MS);
    const first = await sw.snapshot();
    const sendQ: number[] = [];
    while (Date.now() - first.at < MEASURE_MS) {
      await sleep(5000);
      sendQ.push(sw.sourceKernelSendQ());
    }
    const last = await sw.snapshot();
    const { rows, summary } = windowFigures(first, last, sw.uplinks, streamBps);
    console.log(
      `shaped swarm (stream ${(streamBps / 1e6).toFixed(2)} Mbit/s): source upload ${summary.sourceUploadFactor.toFixed(2)}x, ` +
        `source send-Q max ${Math.round(Math.max(0, ...sendQ) / 1024)} KB, lag median ${(summary.lagMedianMs / 1000).toFixed(1)} s\n` +
        rows.map((r) => `  ${r.box} ${r.uplinkFactor}x: continuity ${r.continuity?.toFixed(3)} due ${r.chunksDue} lag ${r.lagMs} ms timeouts ${r.timeouts} duplicates ${r.duplicates}`).join('\n'),
    );
    last.boxes.forEach((s, i) => {
      if (!s) console.log(`box${i + 1} gave no status; its output:\n${sw.boxes[i]?.output()}`);
    });
    const served = rows.filter((r) => (r.uplinkFactor ?? 0) >= 1);
    for (const r of served) {
      expect(r.chunksDue * streamChunkMs, `${r.box} played (ms)`).toBeGreaterThan(25_000);
      expect(r.continuity ?? 0, `${r.box} continuity`).toBeGreaterThanOrEqual(0.98);
    }
    expect(summary.continuityMeanAtLeast1x).toBeGreaterThanOrEqual(0.99);
    const due = rows.reduce((x, r) => x + r.chunksDue, 0);
    expect(summary.timeouts, 'request timeouts over the window').toBeLessThanOrEqual(0.1 * due);
    expect(summary.sourceUploadFactor).toBeLessThanOrEqual(1.5);
    expect(Math.max(0, ...sendQ), "source's kernel send buffers (bytes)").toBeLessThanOrEqual(512 * 1024);
    expect(summary.lagMedianMs).toBeLessThanOrEqual(3000);
  });
});
