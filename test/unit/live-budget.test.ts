import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bufferShare, nominalChunkBytes } from '../../src/engine/buffer-budget.js';
import { DEFAULT_LIVE_CONFIG } from '../../src/engine/live-config.js';
import { goodChunk, liveNode } from '../helpers/live-fakes.js';

const CONFIG = { ...DEFAULT_LIVE_CONFIG, chunkMs: 1000, nominalStreamBps: 80_000, windowChunksMin: 4, windowChunksMax: 50 };

describe('buffer budget', () => {
  it('splits the budget evenly: byte cap = budget / contents, window = cap / nominal chunk, clamped', () => {
    expect(nominalChunkBytes(CONFIG)).toBe(10_064);
    expect(bufferShare(200_000, 1, CONFIG)).toEqual({ capBytes: 200_000, windowChunks: 19 });
    expect(bufferShare(200_000, 2, CONFIG)).toEqual({ capBytes: 100_000, windowChunks: 9 });
    expect(bufferShare(200_000, 10, CONFIG)).toEqual({ capBytes: 20_000, windowChunks: 4 }); // min window
    expect(bufferShare(10_000_000, 1, CONFIG)).toEqual({ capBytes: 10_000_000, windowChunks: 50 }); // max window
  });

  it('never exceeds the byte cap nor the window, whatever contents start, stop and publish', () => {
    const budget = 150_000;
    const op = fc.oneof(
      fc.record({ kind: fc.constant('start' as const), c: fc.integer({ min: 0, max: 3 }), source: fc.boolean() }),
      fc.record({ kind: fc.constant('stop' as const), c: fc.integer({ min: 0, max: 3 }) }),
      fc.record({ kind: fc.constant('publish' as const), c: fc.integer({ min: 0, max: 3 }), bytes: fc.integer({ min: 1, max: 60_000 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 60 }), (ops) => {
        const n = liveNode({ viewer: false, budgetBytes: budget, config: CONFIG });
        const nextId = [0, 0, 0, 0];
        for (const o of ops) {
          const id = `c${o.c}`;
          if (o.kind === 'start') {
            n.engine.join(id, 'live');
            if (o.source) n.live.startSource(id);
            else n.live.startViewer(id);
          } else if (o.kind === 'stop') {
            n.live.stop(id);
          } else {
            const chunkId = nextId[o.c]!++;
            n.live.publishChunk(id, goodChunk(chunkId, o.bytes));
          }
          n.tick();
          const active = n.live.active();
          let caps = 0;
          for (const { contentId } of active) {
            const s = n.live.stats(contentId)!;
            const share = bufferShare(budget, active.length, CONFIG);
            expect(s.bufferCapBytes).toBe(share.capBytes);
            expect(s.windowChunks).toBe(share.windowChunks);
            expect(s.bufferBytes).toBeLessThanOrEqual(s.bufferCapBytes);
            expect(s.windowChunks).toBeLessThanOrEqual(CONFIG.windowChunksMax);
            caps += s.bufferCapBytes;
          }
          expect(caps).toBeLessThanOrEqual(budget);
          expect(n.live.bufferBytes()).toBeLessThanOrEqual(budget);
        }
      }),
      { numRuns: 150 },
    );
  });

  it('a viewer evicts its oldest chunks to stay under the cap when chunks are larger than nominal', () => {
    const n = liveNode({ budgetBytes: 50_000, config: { ...CONFIG, prebufferMs: 10_000, urgentMs: 0 } });
    n.partner('a');
    const ids = Array.from({ length: 30 }, (_, i) => i);
    n.advertise('a', ids);
    for (let round = 0; round < 40; round++) {
      n.tick();
      for (const s of n.transport.of('DataChunkReq', 'a')) n.respond('a', goodChunk(s.msg.chunkId, 12_000));
      n.transport.clear();
      const st = n.live.stats('c1')!;
      expect(st.bufferBytes).toBeLessThanOrEqual(50_000);
      expect(st.bufferCapBytes).toBe(50_000);
    }
    expect(n.ready.length).toBeGreaterThan(4);
  });
});
