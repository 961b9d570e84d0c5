import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileBlocks, TsPacer, type PacedChunk, type PacerWarning } from '../../src/source/ts-pacer.js';
import type { SourceWarning } from '../../src/source/ts-chunker.js';
import { makeTestStream } from '../support/media.js';

let dir: string;
let file: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sd-pacer-'));
  file = makeTestStream({ seconds: 4, bitrateKbps: 800, path: join(dir, 'in.ts') });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A fake clock: sleeping advances it by exactly the requested time (plus optional extra lag). */
function fakeTime(start = 1_000_000) {
  const t = { now: start, slept: 0, extraLag: 0 };
  return {
    t,
    clock: { now: () => t.now },
    sleep: async (ms: number) => {
      t.now += ms + t.extraLag;
      t.slept += ms;
    },
  };
}

async function take(pacer: TsPacer, n: number, each?: (c: PacedChunk) => void): Promise<PacedChunk[]> {
  const out: PacedChunk[] = [];
  for await (const c of pacer.chunks()) {
    each?.(c);
    out.push(c);
    if (out.length >= n) break;
  }
  return out;
}

describe('TsPacer', () => {
  it('releases each chunk when real time reaches its media end (PCR timing)', async () => {
    const { t, clock, sleep } = fakeTime();
    const start = t.now;
    const pacer = new TsPacer({ open: () => readFileBlocks(file, 10_000), clock, sleep });
    const chunks = await take(pacer, 1000);
    expect(chunks.length).toBeGreaterThanOrEqual(3);
    const media0 = (chunks[0] as PacedChunk).mediaStartMs;
    for (const c of chunks) {
      expect(c.releasedAtMs).toBeCloseTo(start + (c.mediaStartMs + c.durationMs - media0), 6);
      expect(c.pass).toBe(0);
    }
    const span = chunks.reduce((s, c) => s + c.durationMs, 0);
    expect(t.now - start).toBeCloseTo(span, 6); // paced over the stream's own duration
    expect(span).toBeGreaterThan(3500);
    expect(span).toBeLessThan(4500);
  });

  it('loops: numbering continues, media time stays monotonic, each new pass is flagged', async () => {
    const { t, clock, sleep } = fakeTime();
    const start = t.now;
    const pacer = new TsPacer({ open: () => readFileBlocks(file), clock, sleep, loop: true, chunker: { chunkMs: 1000 } });
    const perPass = 4; // a 4 s file in 1 s chunks (the last may be short)
    const chunks = await take(pacer, perPass * 3 + 1);
    expect(pacer.passes).toBeGreaterThanOrEqual(3);
    chunks.forEach((c, i) => {
      expect(c.seq).toBe(i);
      const prev = chunks[i - 1];
      if (prev) {
        expect(c.mediaStartMs).toBeCloseTo(prev.mediaStartMs + prev.durationMs, 6);
        expect(c.releasedAtMs).toBeGreaterThan(prev.releasedAtMs);
        expect(c.discontinuity).toBe(c.pass !== prev.pass);
        expect(c.pass - prev.pass).toBeLessThanOrEqual(1);
      }
      expect(c.durationMs).toBeGreaterThan(0);
    });
    expect(chunks.filter((c) => c.discontinuity)).toHaveLength(new Set(chunks.map((c) => c.pass)).size - 1);
    const last = chunks[chunks.length - 1] as PacedChunk;
    const first = chunks[0] as PacedChunk;
    expect(last.releasedAtMs - start).toBeCloseTo(last.mediaStartMs + last.durationMs - first.mediaStartMs, 6);
  });

  it('re-anchors instead of bursting when it falls far behind', async () => {
    const { t, clock, sleep } = fakeTime();
    const warnings: (SourceWarning | PacerWarning)[] = [];
    const pacer = new TsPacer({
      open: () => readFileBlocks(file),
      clock,
      sleep,
      maxLateMs: 1000,
      onWarning: (w) => warnings.push(w),
    });
    const chunks = await take(pacer, 4, (c) => {
      if (c.seq === 0) t.now += 5000; // the process stalls for 5 s after the first chunk
    });
    expect(warnings.some((w) => w.code === 'source-late')).toBe(true);
    const [, second, third] = chunks as [PacedChunk, PacedChunk, PacedChunk];
    // The stalled chunk goes out at once; the next one keeps real-time spacing after it.
    expect(third.releasedAtMs - second.releasedAtMs).toBeCloseTo(third.mediaStartMs + third.durationMs - (second.mediaStartMs + second.durationMs), 6);
  });

  it('stops on abort', async () => {
    const { clock, sleep } = fakeTime();
    const ac = new AbortController();
    const pacer = new TsPacer({ open: () => readFileBlocks(file), clock, sleep, loop: true, signal: ac.signal });
    const chunks = await take(pacer, 100, (c) => {
      if (c.seq === 2) ac.abort();
    });
    expect(chunks).toHaveLength(3);
  });
});
