// BufferMapDelta on the engine side: what a sender computes from the map a partner last got, and
// the map the partner rebuilds from it, which must equal the sender's own map whatever the two are.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BufferMap } from '../../src/engine/buffer-map.js';

const arbMap = fc
  .record({ baseId: fc.integer({ min: 0, max: 200 }), held: fc.array(fc.boolean(), { maxLength: 300 }) })
  .map(({ baseId, held }) => BufferMap.derive(baseId, held.length, (id) => held[id - baseId] === true));

const ids = (m: BufferMap): number[] => m.heldIds();

describe('BufferMap deltas', () => {
  it('a delta on top of the previous map gives the sender map exactly, for any two maps', () => {
    fc.assert(
      fc.property(arbMap, arbMap, (prev, own) => {
        const d = own.deltaSince(prev);
        const rebuilt = BufferMap.applyDelta(prev, d);
        expect(rebuilt.baseId).toBe(own.baseId);
        expect(rebuilt.length).toBe(own.length);
        expect(ids(rebuilt)).toEqual(ids(own));
      }),
      { numRuns: 500 },
    );
  });

  it('firstDifference is the lowest id the two maps disagree on', () => {
    fc.assert(
      fc.property(arbMap, arbMap, (prev, own) => {
        let expected = own.endId;
        for (let id = own.baseId; id < own.endId; id++) {
          if (own.has(id) !== prev.has(id)) {
            expected = id;
            break;
          }
        }
        expect(own.firstDifference(prev)).toBe(expected);
      }),
      { numRuns: 500 },
    );
  });

  it('a new chunk at the edge travels as a delta of a few bits, however long the window', () => {
    const prev = BufferMap.derive(1000, 480, () => true); // 1000..1479 held
    const own = BufferMap.derive(1001, 481, (id) => id !== 1480); // slid by one; 1481 new, 1480 missing
    const d = own.deltaSince(prev);
    expect(d).toMatchObject({ floorId: 1001, baseId: 1481, length: 1 }); // 1480: held by neither
    expect(d.bits).toEqual(Uint8Array.from([0x80]));
    const rebuilt = BufferMap.applyDelta(prev, d);
    expect(rebuilt.has(1000)).toBe(false);
    expect(rebuilt.has(1001) && rebuilt.has(1479) && rebuilt.has(1481)).toBe(true);
    expect(rebuilt.has(1480)).toBe(false);
  });

  it('a malformed delta is refused with the field named', () => {
    const prev = BufferMap.derive(0, 16, () => true);
    expect(() => BufferMap.applyDelta(prev, { floorId: 5, baseId: 4, length: 0, bits: new Uint8Array(0) })).toThrow(/BufferMapDelta.baseId/);
    expect(() => BufferMap.applyDelta(prev, { floorId: 0, baseId: 0, length: 9, bits: new Uint8Array(1) })).toThrow(/BufferMapDelta.bits/);
    expect(() => BufferMap.applyDelta(prev, { floorId: 0, baseId: 70_000, length: 0, bits: new Uint8Array(0) })).toThrow(/BufferMapDelta.length/);
    expect(() => BufferMap.applyDelta(prev, { floorId: -1, baseId: 0, length: 0, bits: new Uint8Array(0) })).toThrow(/BufferMapDelta.floorId/);
  });
});
