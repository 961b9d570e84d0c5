// Phones' HLS: the playlist text a player parses (hls-playlist.ts), which chunks a live window lists
// and how (hls-window.ts: edge holes, gaps, durations and discontinuities from the media clock), and
// the viewer limit (phone-viewers.ts).
import { describe, expect, it } from 'vitest';
import { ChunkBuffer } from '../../src/engine/chunk-buffer.js';
import { livePlaylist, targetDurationS, type HlsSegment } from '../../src/web/hls-playlist.js';
import { firstPtsMs, HlsWindow, type MediaOf } from '../../src/web/hls-window.js';
import { PhoneViewers } from '../../src/web/phone-viewers.js';
import { tsWithPts } from '../helpers/ts-chunks.js';

const seg = (seq: number, extra: Partial<HlsSegment> = {}): HlsSegment => ({ seq, durationMs: 1000, createdMs: 1_700_000_000_000 + seq * 1000, discontinuity: false, gap: false, ...extra });
const CLEAR: MediaOf = { playable: () => true, bytes: (c) => c.data };

function bufferWith(chunks: Array<[number, number]>, capacity = 40): ChunkBuffer {
  const b = new ChunkBuffer({ capacityChunks: capacity, maxBytes: 1 << 20 });
  for (const [id, pts] of chunks) b.put({ id, timestampMs: 1_700_000_000_000 + id * 1000, signature: new Uint8Array(0), data: tsWithPts(pts) });
  return b;
}

describe('live playlist text', () => {
  it('numbers segments by chunk id, one URI per chunk, target duration = ceil of the longest', () => {
    const text = livePlaylist([seg(41), seg(42, { durationMs: 1480 }), seg(43)]);
    expect(text).toBe(
      [
        '#EXTM3U',
        '#EXT-X-VERSION:3',
        '#EXT-X-TARGETDURATION:2',
        '#EXT-X-MEDIA-SEQUENCE:41',
        '#EXT-X-PROGRAM-DATE-TIME:2023-11-14T22:14:01.000Z',
        '#EXTINF:1.000,',
        '41.ts',
        '#EXTINF:1.480,',
        '42.ts',
        '#EXTINF:1.000,',
        '43.ts',
        '',
      ].join('\n'),
    );
    expect(targetDurationS([seg(1, { durationMs: 2001 })])).toBe(3);
    expect(targetDurationS([])).toBe(1);
  });

  it('tags a discontinuity (and dates the segment after it), lists a missing chunk as a gap, ends a stopped channel', () => {
    const text = livePlaylist([seg(7), seg(8, { gap: true, createdMs: undefined }), seg(9), seg(10, { discontinuity: true })], { ended: true, discontinuitySequence: 3 });
    const lines = text.trim().split('\n');
    expect(lines).toContain('#EXT-X-DISCONTINUITY-SEQUENCE:3');
    expect(lines.slice(lines.indexOf('8.ts') - 2, lines.indexOf('8.ts') + 1)).toEqual(['#EXTINF:1.000,', '#EXT-X-GAP', '8.ts']);
    // After the gap the next segment carries its date again; the discontinuity precedes segment 10.
    expect(lines[lines.indexOf('9.ts') - 2]).toBe('#EXT-X-PROGRAM-DATE-TIME:2023-11-14T22:13:29.000Z');
    expect(lines.slice(lines.indexOf('10.ts') - 3, lines.indexOf('10.ts'))).toEqual(['#EXT-X-DISCONTINUITY', '#EXT-X-PROGRAM-DATE-TIME:2023-11-14T22:13:30.000Z', '#EXTINF:1.000,']);
    expect(lines.at(-1)).toBe('#EXT-X-ENDLIST');
  });

  it('refuses segments that are not consecutive chunk ids (a hole must be a gap)', () => {
    expect(() => livePlaylist([seg(1), seg(3)])).toThrow(/consecutive chunk ids: 1 then 3/);
  });
});

describe('live window over the chunk buffer', () => {
  it('reads the first video PTS of a chunk', () => {
    expect(firstPtsMs(tsWithPts(12_345.6))).toBeCloseTo(12_345.6, 1);
    expect(firstPtsMs(new Uint8Array(188))).toBeUndefined();
  });

  it('ends at the newest chunk, spans 10 s back, durations from the media clock', () => {
    const b = bufferWith(Array.from({ length: 30 }, (_, i) => [i, 10_000 + i * 1040]));
    const w = new HlsWindow(1000).build(b, CLEAR);
    expect(w.segments.map((s) => s.seq)).toEqual(Array.from({ length: 10 }, (_, i) => 20 + i));

    expect(w.segments.slice(0, -1).every((s) => Math.abs(s.durationMs - 1040) < 1)).toBe(true);
    expect(w.segments.at(-1)!.durationMs).toBe(1000); // the next chunk is not here yet: nominal
    expect(w.segments.every((s) => !s.gap && !s.discontinuity)).toBe(true);
    expect(w.segments[0]!.createdMs).toBe(1_700_000_000_000 + 20_000);
  });

  it('makes a segment of 1 s of short chunks: whole segments only, a missing chunk or a clock jump inside one makes it a gap', () => {
    // 250 ms chunks: segment n = chunks 4n..4n+3. Chunk 9 is missing, chunk 14's clock jumps
    // (the source looped), chunks 28-29 are the newest and do not make a whole segment yet.
    const chunks: Array<[number, number]> = [];
    for (let id = 0; id < 30; id++) if (id !== 9) chunks.push([id, id < 14 ? 50_000 + id * 250 : (id - 14) * 250]);
    const w = new HlsWindow(250);
    expect([w.perSegment, w.segmentMs, w.windowSegments]).toEqual([4, 1000, 10]);
    expect(w.chunksOf(3)).toEqual([12, 13, 14, 15]);
    const segs = w.build(bufferWith(chunks), CLEAR).segments;
    expect(segs.map((s) => s.seq)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(segs.filter((s) => s.gap).map((s) => s.seq)).toEqual([2, 3]);
    // Segment 4 (chunks 16-19) follows the jump: a discontinuity; durations are 1 s of media clock.
    expect(segs.filter((s) => s.discontinuity).map((s) => s.seq)).toEqual([4]);
    expect(segs[0]!.durationMs).toBeCloseTo(1000, 3);
    expect(segs[0]!.createdMs).toBe(1_700_000_000_000);
    expect(segs[4]!.createdMs).toBe(1_700_000_000_000 + 16_000);
  });

  it('stops before a hole at the live edge (it may still arrive) but lists an older hole as a gap', () => {
    const ids = [10, 11, 12, 14, 15, 16, 18];
    const b = bufferWith(ids.map((id) => [id, id * 1000]));
    const segs = new HlsWindow(1000).build(b, CLEAR).segments;
    expect(segs.map((s) => s.seq)).toEqual([10, 11, 12, 13, 14, 15, 16]);
    expect(segs.filter((s) => s.gap).map((s) => s.seq)).toEqual([13]);
  });

  it('marks a chunk whose clock jumps (a looped source) discontinuous and counts it once it leaves the window', () => {
    const chunks: Array<[number, number]> = [];
    for (let i = 0; i < 8; i++) chunks.push([i, 500_000 + i * 1000]);
    for (let i = 8; i < 14; i++) chunks.push([i, (i - 8) * 1000]); // the file started again
    const b = bufferWith(chunks, 14);
    const w = new HlsWindow(1000);
    const first = w.build(b, CLEAR);
    expect(first.segments.filter((s) => s.discontinuity).map((s) => s.seq)).toEqual([8]);
    expect(first.discontinuitySequence).toBe(0);
    // The buffer moves on past chunk 8: the playlist counts the discontinuity it no longer lists.
    for (let i = 14; i < 30; i++) {
      b.slideToInclude(i);
      b.put({ id: i, timestampMs: 0, signature: new Uint8Array(0), data: tsWithPts((i - 8) * 1000) });
    }
    const later = w.build(b, CLEAR);
    expect(later.segments.some((s) => s.discontinuity)).toBe(false);
    expect(later.discontinuitySequence).toBe(1);
  });

  it('lists chunks a phone may not have (protected, no approval) as gaps and never starts on one', () => {
    const b = bufferWith(Array.from({ length: 12 }, (_, i) => [i, i * 1000]));
    const previewOnly: MediaOf = { playable: (c) => c.id % 4 < 2, bytes: (c) => (c.id % 4 < 2 ? c.data : undefined) };
    const segs = new HlsWindow(1000).build(b, previewOnly).segments;
    expect(segs[0]!.seq).toBe(4);
    expect(segs.filter((s) => s.gap).map((s) => s.seq)).toEqual([6, 7, 10, 11]);
  });
});

describe('phone viewers', () => {
  it('admits up to the limit, keeps a returning viewer, frees a slot after the idle time', () => {
    let now = 0;
    const v = new PhoneViewers(2, () => now, 15_000);
    expect(v.touch('a', 'alpha').ok).toBe(true);
    expect(v.touch('b', 'alpha').ok).toBe(true);
    expect(v.touch('c', 'beta')).toEqual({ ok: false, active: 2, max: 2 });
    expect(v.touch('a', 'alpha').ok).toBe(true);
    expect(v.perChannel()).toEqual({ alpha: 2 });
    now = 10_000;
    v.touch('a', 'alpha');
    now = 20_000; // b idle for 20 s
    expect(v.has('b')).toBe(false);
    expect(v.touch('c', 'beta').ok).toBe(true);
    expect(v.refused).toBe(1);
  });
});
