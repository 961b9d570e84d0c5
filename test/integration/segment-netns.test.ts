// Main nodes and a local segment in network namespaces (root only; skipped otherwise):
//   uplink ns: central tracker, a 1 Mbit/s live source, 2 remote peers;
//   main1, main2: uplink shaped to 1.5 Mbit/s (1.5 × the stream) + a port on bridge `seg`;
//   local1..4: only on `seg`, links shaped to 2 Mbit/s like a Bluetooth PAN, no route to the uplink.
// Shows: the local nodes find the local tracker with no address given and record the channel with
// continuity >= 0.99; while both main nodes are up each downloads <= 0.65 × the stream over its
// uplink; main1 (the local tracker) is killed and main2 takes the whole uplink within 5 s; the
// local nodes' continuity stays >= 0.98 over the run and their recordings are the source's bytes.
// The namespaces are removed even when the test fails.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeTestStream } from '../support/media.js';
import { netnsAvailable, removeStaleLabs } from '../support/netns.js';
import { status, tempDir, waitFor } from '../support/processes.js';
import { DEFAULT_LIVE_CONFIG } from '../../src/engine/live-config.js';
import { matchRecording, sourceChunks } from '../support/recordings.js';
import { SegmentScenario } from '../support/segment-scenario.js';
import { realTime } from '../support/real-time.js';

const STREAM_KBPS = 1000;
const BOTH_UP_MS = 30_000;
const AFTER_KILL_MS = 20_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let scenario: SegmentScenario | undefined;
afterAll(async () => {
  await scenario?.cleanup();
});

describe.skipIf(!netnsAvailable())('main nodes share the uplink of a local segment (network namespaces)', () => {
  it('locals find the local tracker, mains split the uplink, the survivor takes it all', realTime(240_000), async () => {
    removeStaleLabs();
    const dir = tempDir('sd-seg-');
    const input = makeTestStream({ seconds: 150, bitrateKbps: STREAM_KBPS, path: join(dir, 'input.ts') });
    const chunks = sourceChunks(input, DEFAULT_LIVE_CONFIG.chunkMs);
    const sc = new SegmentScenario({ mains: 2, locals: 4, remotes: 2, uplinkRate: `${STREAM_KBPS * 1.5}kbit`, localRate: '2mbit', channel: 'segtest', input, dir });
    scenario = sc;
    try {
      sc.buildNetwork();
      await sc.startUplink();
      const first = await sc.startMain(1);
      await waitFor('main1 to become the local tracker', 15_000, () => status(first), (s) => s.segment?.tracker === 'leader');
      await sc.startMain(2);
      for (let j = 1; j <= 4; j++) await sc.startLocal(j);
      await sc.waitLocalsPlaying(40_000);
      const agreeMs = await sc.waitShares(['0/2', '1/2'], 20_000);
      await sleep(5000);

      // Both main nodes up: each fetches about half of the stream over its uplink.
      const a0 = await sc.mainFigures();
      const s0 = await sc.streamBytes();
      await sleep(BOTH_UP_MS);
      const a1 = await sc.mainFigures();
      const s1 = await sc.streamBytes();
      const stream = s1 - s0;
      const ratios = a1.map((f, i) => (f && a0[i] ? (f.bytesIn - (a0[i]?.bytesIn ?? 0)) / stream : NaN));
      const contBefore = await sc.localContinuity();
      const trackers = a1.map((f) => f?.tracker);

      // Kill the local tracker (main1): main2 must take the whole uplink within 5 s.
      const main1 = sc.mains[0];
      if (!main1) throw new Error('main1 missing');
      const killedAt = Date.now();
      await sc.kill(main1);
      sc.mains.splice(0, 1);
      const takeoverMs = await sc.waitShares(['all'], 5000).then(() => Date.now() - killedAt, () => NaN);
      await sleep(5000 - Math.min(5000, Date.now() - killedAt));
      const b0 = await sc.mainFigures();
      const t0 = await sc.streamBytes();
      await sleep(AFTER_KILL_MS);
      const b1 = await sc.mainFigures();
      const t1 = await sc.streamBytes();
      const soloRatio = ((b1[0]?.bytesIn ?? 0) - (b0[0]?.bytesIn ?? 0)) / (t1 - t0);
      const m2 = sc.mains[0] ? await status(sc.mains[0]) : undefined;
      const locals = await sc.localStatuses();
      await sc.stopLocals();

      const rows = locals.map((s, j) => {
        const c = s?.contents.find((x) => x.kind === 'live');
        const rec = sc.recording(j + 1);
        const m = matchRecording(existsSync(rec) ? readFileSync(rec) : Buffer.alloc(0), chunks);
        return { j: j + 1, continuity: c?.continuityIndex ?? 0, before: contBefore[j] ?? 0, due: c?.chunksDue ?? 0, skipped: c?.chunksSkipped ?? 0, tracker: s?.discovery?.tracker ?? null, found: s?.discovery?.found ?? 0, ...m };
      });
      console.log(
        `segment netns: mains agreed on shares in ${agreeMs} ms (trackers: ${trackers.join(', ')}); both up: uplink/stream ${ratios.map((r) => r.toFixed(3)).join(', ')} ` +
          `(fallback requests ${a1.map((f) => f?.fallback ?? '?').join(', ')}); main1 killed → main2 share 'all' after ${takeoverMs} ms, then uplink/stream ${soloRatio.toFixed(3)} (main2 is ${m2?.segment?.tracker})\n` +
          rows.map((r) => `  local${r.j}: continuity ${r.continuity.toFixed(4)} (before kill ${r.before.toFixed(4)}) due ${r.due} skipped ${r.skipped} tracker ${r.tracker} (found ${r.found}×) recording ${r.chunks} chunks from #${r.firstSeq} gaps ${r.gaps} unmatched ${r.unmatchedBytes}`).join('\n'),
      );
      for (const r of ratios) expect(r, 'uplink download of a main node while both are up, ÷ stream').toBeLessThanOrEqual(0.65);
      expect(takeoverMs, 'main2 takes the whole uplink within 5 s').toBeLessThanOrEqual(5000);
      expect(soloRatio, 'main2 alone downloads the whole stream').toBeGreaterThan(0.85);
      for (const r of rows) {
        expect(r.before, `local${r.j} continuity before the kill`).toBeGreaterThanOrEqual(0.99);
        expect(r.continuity, `local${r.j} continuity over the run`).toBeGreaterThanOrEqual(0.98);
        expect(r.found, `local${r.j} found a local tracker by itself`).toBeGreaterThanOrEqual(1);
        expect(r.firstSeq, `local${r.j} recording starts on a source chunk`).toBeGreaterThanOrEqual(0);
        expect(r.unmatchedBytes, `local${r.j} recording holds only the source's bytes`).toBe(0);
        expect(r.chunks, `local${r.j} recorded chunks`).toBeGreaterThanOrEqual(50);
      }
    } catch (err) {
      for (const p of [...sc.mains, ...sc.locals, ...sc.uplinkProcs]) if (p) console.log(`--- ${p.name} output (tail):\n${p.output().slice(-3000)}`);
      throw err;
    } finally {
      await sc.cleanup();
    }
  });
});
