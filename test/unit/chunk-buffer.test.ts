import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BufferMap, RemoteBufferMap } from '../../src/engine/buffer-map.js';
import { ChunkBuffer, type ChunkRecord, type PutResult } from '../../src/engine/chunk-buffer.js';

const SIG = new Uint8Array(64);

function chunk(id: number, dataBytes: number, signature = SIG): ChunkRecord {
  return { id, timestampMs: 1000 + id, signature, data: new Uint8Array(dataBytes) };
}

/** The buffer map says exactly what the buffer holds, and survives the wire. */
function expectMirrors(buf: ChunkBuffer): void {
  const map = buf.map();
  expect(map.baseId).toBe(buf.base);
  const newest = buf.newest;
  expect(map.length).toBe(newest === undefined ? 0 : newest - buf.base + 1);
  for (let id = Math.max(0, buf.base - 3); id < buf.end + 3; id++) expect(map.has(id)).toBe(buf.has(id));
  expect(map.count).toBe(buf.count);
  expect(map.heldIds()).toEqual(buf.heldIds());
  const back = BufferMap.fromWire(map.toWire());
  expect(back.equals(map)).toBe(true);
}

describe('ChunkBuffer', () => {
  it('keeps a sliding window of capacity chunks', () => {
    const buf = new ChunkBuffer({ capacityChunks: 4, maxBytes: 1_000_000, baseId: 10 });
    expect(buf.put(chunk(9, 10))).toBe('too-old');
    expect(buf.put(chunk(14, 10))).toBe('too-new');
    expect(buf.put(chunk(10, 10))).toBe('stored');
    expect(buf.put(chunk(12, 10))).toBe('stored');
    expect(buf.put(chunk(12, 10))).toBe('duplicate');
    expect(buf.put(chunk(13, 10))).toBe('stored');
    expect([buf.base, buf.newest, buf.count, buf.bytes]).toEqual([10, 13, 3, 3 * 74]);
    expectMirrors(buf);
    expect(buf.slideToInclude(15)).toBe(1); // window 12..15: chunk 10 dropped
    expect([buf.base, buf.end, buf.has(10), buf.has(12)]).toEqual([12, 16, false, true]);
    expect(buf.put(chunk(15, 10))).toBe('stored');
    expect(buf.get(15)?.timestampMs).toBe(1015);
    expect(buf.get(11)).toBeUndefined();
    expectMirrors(buf);
    expect(buf.advanceTo(11)).toBe(0); // never slides back
    expect(buf.base).toBe(12);
    expect(buf.advanceTo(100)).toBe(3); // far ahead: everything goes
    expect([buf.count, buf.bytes, buf.newest, buf.base]).toEqual([0, 0, undefined, 100]);
    expect(buf.put(chunk(100, 10))).toBe('stored'); // slot reuse after wrap-around
    expectMirrors(buf);
  });

  it('evicts the oldest chunks (moving base) to stay under the byte cap, and refuses what cannot fit', () => {
    const buf = new ChunkBuffer({ capacityChunks: 10, maxBytes: 300 });
    expect(buf.put(chunk(0, 36))).toBe('stored'); // 100 bytes each with the signature
    expect(buf.put(chunk(2, 36))).toBe('stored');
    expect(buf.put(chunk(3, 36))).toBe('stored');
    expect(buf.put(chunk(5, 136))).toBe('evicted-for-space'); // needs 200: drops 0 and 2
    expect([buf.base, buf.heldIds(), buf.bytes, buf.evictedForSpace]).toEqual([3, [3, 5], 300, 2]);
    expect(buf.put(chunk(4, 136))).toBe('no-space'); // dropping 3 is not enough, 5 is newer: refused
    expect(buf.heldIds()).toEqual([3, 5]);
    expect(buf.put(chunk(9, 500))).toBe('too-large');
    expectMirrors(buf);
  });

  it('never exceeds the byte cap and its map mirrors it after every operation (random workload)', () => {
    type Op =
      | { kind: 'put'; offset: number; size: number }
      | { kind: 'advance'; by: number }
      | { kind: 'slide'; offset: number };
    const op: fc.Arbitrary<Op> = fc.oneof(
      { weight: 6, arbitrary: fc.record({ kind: fc.constant('put' as const), offset: fc.integer({ min: -3, max: 20 }), size: fc.integer({ min: 0, max: 700 }) }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('advance' as const), by: fc.integer({ min: -2, max: 8 }) }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('slide' as const), offset: fc.integer({ min: 0, max: 30 }) }) },
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 16 }), fc.integer({ min: 64, max: 3000 }), fc.array(op, { maxLength: 120 }), (capacity, maxBytes, ops) => {
        const buf = new ChunkBuffer({ capacityChunks: capacity, maxBytes });
        // Reference model: held sizes by id, and the window base.
        const model = new Map<number, number>();
        let base = 0;
        const modelBytes = () => [...model.values()].reduce((a, b) => a + b, 0);
        const dropBelow = (b: number) => {
          for (const id of [...model.keys()]) if (id < b) model.delete(id);
          base = Math.max(base, b);
        };
        for (const o of ops) {
          if (o.kind === 'put') {
            const id = Math.max(0, buf.base + o.offset);
            const size = o.size + SIG.length;
            let want: PutResult;
            if (id < base) want = 'too-old';
            else if (id >= base + capacity) want = 'too-new';
            else if (model.has(id)) want = 'duplicate';
            else if (size > maxBytes) want = 'too-large';
            else if (modelBytes() + size <= maxBytes) want = 'stored';
            else {
              const older = [...model.keys()].filter((k) => k < id).sort((a, b) => a - b);
              let bytes = modelBytes();
              let cut: number | undefined;
              for (const k of older) {
                if (bytes + size <= maxBytes) break;
                bytes -= model.get(k) as number;
                cut = k + 1;
              }
              if (cut === undefined || bytes + size > maxBytes) want = 'no-space';
              else {
                dropBelow(cut);
                want = 'evicted-for-space';
              }
            }
            if (want === 'stored' || want === 'evicted-for-space') model.set(id, size);
            expect(buf.put(chunk(id, o.size))).toBe(want);
          } else if (o.kind === 'advance') {
            const to = Math.max(0, buf.base + o.by);
            const dropped = [...model.keys()].filter((k) => k < to).length;
            expect(buf.advanceTo(to)).toBe(to > base ? dropped : 0);
            if (to > base) dropBelow(to);
          } else {
            const id = buf.base + o.offset;
            buf.slideToInclude(id);
            dropBelow(Math.max(base, id - capacity + 1));
          }
          expect(buf.bytes).toBeLessThanOrEqual(maxBytes);
          expect(buf.bytes).toBe(modelBytes());
          expect(buf.base).toBe(base);
          expect(buf.heldIds()).toEqual([...model.keys()].sort((a, b) => a - b));
          expectMirrors(buf);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('BufferMap', () => {
  it('packs bits MSB first and round-trips the wire form', () => {
    const map = BufferMap.derive(1000, 10, (id) => id === 1000 || id === 1007 || id === 1009);
    const wire = map.toWire();
    expect([...wire.bits]).toEqual([0x81, 0x40]);
    expect(wire.length).toBe(10);
    const back = BufferMap.fromWire(wire);
    expect(back.equals(map)).toBe(true);
    expect(back.heldIds()).toEqual([1000, 1007, 1009]);
    expect(back.missingIn(998, 1012)).toEqual([998, 999, 1001, 1002, 1003, 1004, 1005, 1006, 1008, 1010, 1011]);
    expect(back.newest).toBe(1009);
  });

  it('ignores bits past length and rejects malformed maps with the field named', () => {
    const m = BufferMap.fromWire({ baseId: 5, length: 3, bits: Uint8Array.from([0xff, 0xff]) });
    expect(m.heldIds()).toEqual([5, 6, 7]);
    expect(m.toWire().bits).toEqual(Uint8Array.from([0xe0]));
    expect(() => BufferMap.fromWire({ baseId: 0, length: 17, bits: new Uint8Array(2) })).toThrow(/bits/);
    expect(() => BufferMap.fromWire({ baseId: -1, length: 0, bits: new Uint8Array(0) })).toThrow(/baseId/);
    expect(() => BufferMap.fromWire({ baseId: 0, length: 70_000, bits: new Uint8Array(8750) })).toThrow(/length/);
  });

  it('round-trips any map through the wire form (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.array(fc.boolean(), { maxLength: 300 }), (baseId, held) => {
        const map = BufferMap.derive(baseId, held.length, (id) => held[id - baseId] === true);
        const back = BufferMap.fromWire(map.toWire());
        expect(back.equals(map)).toBe(true);
        held.forEach((h, i) => expect(back.has(baseId + i)).toBe(h));
      }),
    );
  });
});

describe('RemoteBufferMap', () => {
  it('answers who supplies a chunk and how rare it is', () => {
    const remote = new RemoteBufferMap();
    remote.update('a', BufferMap.derive(10, 5, () => true), 1); // 10..14
    remote.update('b', BufferMap.derive(12, 4, (id) => id % 2 === 0), 2); // 12, 14
    expect(remote.suppliers(12).sort()).toEqual(['a', 'b']);
    expect(remote.supplierCount(11)).toBe(1);
    expect(remote.supplierCounts(9, 16)).toEqual([0, 1, 1, 2, 1, 2, 0]);
    expect(remote.newestAdvertised()).toBe(14);
    remote.update('b', BufferMap.derive(15, 2, () => true), 3); // a newer map replaces the old one
    expect(remote.supplierCounts(12, 17)).toEqual([1, 1, 1, 1, 1]);
    expect(remote.receivedAtMs('b')).toBe(3);
    expect(remote.remove('a')).toBe(true);
    expect(remote.supplierCount(12)).toBe(0);
    expect(remote.peers()).toEqual(['b']);
  });
});
