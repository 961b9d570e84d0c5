// The product's main job: one source, a tracker and 20 node processes on loopback carry a 1 Mbit/s
// ffmpeg-made H.264/AAC channel for 60 s. Every node's recording is exactly the source's chunks from
// its join chunk on, ffmpeg decodes its whole GOPs without error, and every node's continuity index is >= 0.99.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ffmpegDecodeErrors, makeTestStream } from '../support/media.js';
import { chunksPublished, killAll, startProc, status, tempDir, waitFor, waitUp, type Proc } from '../support/processes.js';
import { DEFAULT_LIVE_CONFIG } from '../../src/engine/live-config.js';
import { matchRecording, sourceChunks, wholeGopsOf } from '../support/recordings.js';
import { realTime } from '../support/real-time.js';

const NODES = 20;
const RUN_MS = 60_000;
const CHUNK_MS = DEFAULT_LIVE_CONFIG.chunkMs;

const procs: Proc[] = [];
afterAll(() => killAll(procs));

describe('live channel over a 20-node swarm', () => {
  it('delivers every chunk from each join point on, decodable, with continuity >= 0.99', realTime(180_000), async () => {
    const dir = tempDir('sd-live-');
    const input = makeTestStream({ seconds: 80, bitrateKbps: 1000, path: join(dir, 'input.ts') });
    const chunks = sourceChunks(input, CHUNK_MS);

    const tracker = startProc('tracker', dir, ['tracker', '--listen', '127.0.0.1:0', '--log-level', 'warn']);
    procs.push(tracker);
    const trackerAddr = (await waitUp(tracker, 10_000, 'tracker')).node.contact;
    const source = startProc('source', dir, [
      'publish', 'live', '--tracker', trackerAddr, '--channel', 'swarmtest', '--input', input, '--listen', '127.0.0.1:0', '--log-level', 'warn',
    ]);
    procs.push(source);
    await waitFor('source publishing its first chunk', 10_000, () => chunksPublished(source), (n) => n >= 1);

    const nodes: Proc[] = [];
    for (let i = 0; i < NODES; i++) {
      const n = startProc(`node${i}`, dir, [
        'node', '--tracker', trackerAddr, '--listen', '127.0.0.1:0', '--watch', 'swarmtest', '--player', 'none',
        '--record', join(dir, `node${i}.rec.ts`), '--log-level', 'warn',
      ]);
      nodes.push(n);
      procs.push(n);
      await new Promise((r) => setTimeout(r, 150));
    }
    await new Promise((r) => setTimeout(r, RUN_MS));

    const statuses = await Promise.all(nodes.map(status));
    const srcStatus = await status(source);
    await killAll(nodes, 'SIGTERM'); // a clean stop flushes the recordings

    const rows = statuses.map((s, i) => {
      const c = s?.contents[0];
      const rec = join(dir, `node${i}.rec.ts`);
      const bytes = existsSync(rec) ? readFileSync(rec) : Buffer.alloc(0);
      const m = matchRecording(bytes, chunks);
      return { node: i, continuity: c?.continuityIndex ?? 0, startupMs: c?.startupDelayMs ?? null, lagMs: c?.lagMs ?? null, bad: c?.badChunks ?? 0, recBytes: bytes.length, ...m, rec };
    });
    console.log(
      `live swarm: source upload factor ${srcStatus?.contents[0]?.source?.uploadFactor?.toFixed(2)}; per node:\n` +
        rows.map((r) => `  node${r.node}: continuity ${r.continuity.toFixed(4)} startup ${r.startupMs} ms lag ${r.lagMs} ms chunks ${r.chunks} from #${r.firstSeq} gaps ${r.gaps} unmatched ${r.unmatchedBytes}`).join('\n'),
    );
    statuses.forEach((s, i) => {
      if (!s) console.log(`node${i} gave no status; its output:\n${nodes[i]?.output()}`);
    });
    for (const r of rows) {
      expect(r.continuity, `node${r.node} continuity`).toBeGreaterThanOrEqual(0.99);
      expect(r.firstSeq, `node${r.node} recording starts on a source chunk`).toBeGreaterThanOrEqual(0);
      expect(r.unmatchedBytes, `node${r.node} recording has bytes that are not the source's`).toBe(0);
      expect(r.gaps, `node${r.node} skipped chunks`).toBeLessThanOrEqual(Math.floor(r.chunks * 0.01));
      expect(r.chunks, `node${r.node} recorded chunks`).toBeGreaterThanOrEqual((RUN_MS - 15_000) / CHUNK_MS);
      // Whole GOPs from the first keyframe on: a node joins at any chunk (chunks are shorter than a
      // GOP) and its player starts at the first keyframe; a recording stopped mid-GOP ends in a cut frame.
      const gops = wholeGopsOf(r.rec, chunks);
      expect(gops.share, `node${r.node} whole GOPs recorded (share of its recording)`).toBeGreaterThan(0.5);
      expect(ffmpegDecodeErrors(gops.path), `node${r.node} recording decodes`).toEqual([]);
    }
  });
});
