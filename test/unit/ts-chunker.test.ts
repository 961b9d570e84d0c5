import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MediaTimeline } from '../../src/source/media-timeline.js';
import { TsChunker, type SourceWarning, type TsChunk, type TsChunkerOptions } from '../../src/source/ts-chunker.js';
import * as ts from '../../src/source/ts-packets.js';
import { ffmpegDecodeErrors, ffprobeOk, makeTestStream } from '../support/media.js';

const FRAME_MS = 40; // 25 fps
let dir: string;
let input: Buffer;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sd-chunker-'));
  input = readFileSync(makeTestStream({ seconds: 10, bitrateKbps: 1000, path: join(dir, 'in.ts') }));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function chunkAll(bytes: Uint8Array, opts: TsChunkerOptions = {}, blockBytes = bytes.length) {
  const warnings: SourceWarning[] = [];
  // 1 s chunks unless a test says otherwise (the GOP of the test stream is 1 s: every chunk starts at a keyframe).
  const chunker = new TsChunker({ chunkMs: 1000, ...opts, onWarning: (w) => warnings.push(w) });
  const chunks: TsChunk[] = [];
  for (let i = 0; i < bytes.length; i += blockBytes) chunks.push(...chunker.push(bytes.subarray(i, i + blockBytes)));
  chunks.push(...chunker.flush());
  return { chunks, chunker, warnings };
}

function unprefixed(chunks: TsChunk[]): Buffer {
  return Buffer.concat(chunks.map((c) => c.data.subarray(c.psiPrefixBytes)));
}

/** Chunk lists compared field by field (Buffer deep-equality in expect() is slow on megabytes). */
function expectSameChunks(actual: TsChunk[], expected: TsChunk[]): void {
  expect(actual.map(({ data: _d, ...meta }) => meta)).toEqual(expected.map(({ data: _d, ...meta }) => meta));
  actual.forEach((c, i) => expect(c.data.equals((expected[i] as TsChunk).data), `chunk ${i} bytes`).toBe(true));
}

function startsWithPatPmt(data: Buffer): boolean {
  return ts.parseTsPacket(data, 0)?.pid === ts.PAT_PID && ts.parseTsPacket(data, 188)?.payloadUnitStart === true;
}

describe('TsChunker on a 10 s, 1 Mbit/s ffmpeg stream', () => {
  it('cuts ~1000 ms chunks of whole packets, each starting at a keyframe, times telescoping', () => {
    const { chunks, chunker } = chunkAll(input);
    expect(chunks.length).toBeGreaterThanOrEqual(9);
    expect(chunks.length).toBeLessThanOrEqual(11);
    chunks.forEach((c, i) => {
      expect(c.seq).toBe(i);
      expect(c.data.length % 188).toBe(0);
      expect(c.startsWithKeyframe).toBe(true);
      expect(c.discontinuity).toBe(false);
      expect(startsWithPatPmt(c.data)).toBe(true);
      if (i < chunks.length - 1) expect(Math.abs(c.durationMs - 1000)).toBeLessThanOrEqual(FRAME_MS);
      else expect(c.durationMs).toBeGreaterThan(0);
      const next = chunks[i + 1];
      if (next) expect(next.mediaStartMs).toBeCloseTo(c.mediaStartMs + c.durationMs, 6);
    });
    expect(chunker.skippedBytes).toBe(0);
  });

  it('reassembles exactly: concatenation minus the PAT/PMT prefixes equals the input', () => {
    const { chunks } = chunkAll(input);
    expect(unprefixed(chunks).equals(input)).toBe(true);
  });

  it('every chunk decodes on its own with ffmpeg, and so does the sequence a player receives', () => {
    const { chunks } = chunkAll(input);
    for (const c of chunks) {
      const f = join(dir, `chunk-${c.seq}.ts`);
      writeFileSync(f, c.data);
      expect(ffprobeOk(f), `chunk ${c.seq} probes`).toBe(true);
      expect(ffmpegDecodeErrors(f), `chunk ${c.seq} decodes`).toEqual([]);
    }
    const all = join(dir, 'all-chunks.ts');
    writeFileSync(all, Buffer.concat(chunks.map((c) => c.data)));
    expect(ffmpegDecodeErrors(all)).toEqual([]);
  });

  it('skips and counts garbage injected between packets, producing the same chunks', () => {
    const clean = chunkAll(input).chunks;
    const parts: Buffer[] = [];
    let garbage = 0;
    let injections = 0;
    let seed = 12345;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let off = 0, n = 0; off < input.length; off += 188, n++) {
      parts.push(input.subarray(off, off + 188));
      if (n % 97 === 50) {
        const len = 1 + Math.floor(rnd() * 400);
        const junk = Buffer.alloc(len);
        for (let i = 0; i < len; i++) junk[i] = (Math.floor(rnd() * 255) + 0x48) % 256; // never 0x47
        parts.push(junk);
        garbage += len;
        injections++;
      }
    }
    const { chunks, chunker, warnings } = chunkAll(Buffer.concat(parts));
    expect(chunker.skippedBytes).toBe(garbage);
    expect(chunker.resyncCount).toBe(injections);
    expect(warnings.filter((w) => w.code === 'ts-resync')).toHaveLength(injections);
    expectSameChunks(chunks, clean);
  });

  it('gives identical chunks when fed 7-byte blocks', () => {
    const whole = chunkAll(input).chunks;
    const tiny = chunkAll(input, {}, 7).chunks;
    expectSameChunks(tiny, whole);
  });

  it('cuts mid-GOP at the nominal time when no keyframe is near, prepending PAT/PMT', () => {
    const { chunks } = chunkAll(input, { chunkMs: 500 });
    const withPrefix = chunks.filter((c) => c.psiPrefixBytes > 0);
    expect(withPrefix.length).toBeGreaterThanOrEqual(8);
    expect(chunks.filter((c) => c.startsWithKeyframe).length).toBeGreaterThanOrEqual(9);
    for (const c of chunks) {
      expect(startsWithPatPmt(c.data)).toBe(true);
      expect([0, 376]).toContain(c.psiPrefixBytes);
      if (c.seq < chunks.length - 1) {
        expect(c.durationMs).toBeGreaterThanOrEqual(500 - 500 / 4);
        expect(c.durationMs).toBeLessThanOrEqual(500 + 500 / 2);
      }
    }
    expect(unprefixed(chunks).equals(input)).toBe(true);
    // Control for the decode check above: a chunk that starts mid-GOP does not decode cleanly alone.
    const midGop = chunks.find((c) => !c.startsWithKeyframe) as TsChunk;
    const f = join(dir, 'mid-gop.ts');
    writeFileSync(f, midGop.data);
    expect(ffmpegDecodeErrors(f).length).toBeGreaterThan(0);
  });

  it('bounds chunk size: a chunk over maxChunkBytes is cut anyway with a warning', () => {
    const cap = 32 * 1024;
    const { chunks, warnings } = chunkAll(input, { maxChunkBytes: cap });
    expect(warnings.some((w) => w.code === 'chunk-too-large')).toBe(true);
    for (const c of chunks) expect(c.data.length - c.psiPrefixBytes).toBeLessThanOrEqual(cap);
    expect(unprefixed(chunks).equals(input)).toBe(true);
  });

  it('flags a clock jump (the stream restarting) as a discontinuity and keeps media time monotonic', () => {
    const { chunks, warnings } = chunkAll(Buffer.concat([input, input]));
    const flagged = chunks.filter((c) => c.discontinuity);
    expect(flagged).toHaveLength(1);
    expect(warnings.some((w) => w.code === 'ts-discontinuity')).toBe(true);
    for (let i = 1; i < chunks.length; i++) {
      const prev = chunks[i - 1] as TsChunk;
      expect((chunks[i] as TsChunk).mediaStartMs).toBeCloseTo(prev.mediaStartMs + prev.durationMs, 6);
      expect(prev.durationMs).toBeGreaterThan(0);
    }
    expect(unprefixed(chunks).equals(Buffer.concat([input, input]))).toBe(true);
  });

  it('falls back to the video DTS/PTS for timing when the stream carries no PCR', () => {
    const noPcr = Buffer.from(input);
    for (let o = 0; o < noPcr.length; o += 188) {
      const hasAf = ((noPcr[o + 3] as number) & 0x20) !== 0 && (noPcr[o + 4] as number) > 0;
      if (hasAf) noPcr[o + 5] = (noPcr[o + 5] as number) & ~0x10; // clear PCR_flag
    }
    const { chunks } = chunkAll(noPcr);
    expect(chunks.length).toBeGreaterThanOrEqual(9);
    chunks.forEach((c, i) => {
      expect(c.startsWithKeyframe).toBe(true);
      if (i > 0 && i < chunks.length - 1) expect(Math.abs(c.durationMs - 1000)).toBeLessThanOrEqual(FRAME_MS);
    });
    expect(unprefixed(chunks).equals(noPcr)).toBe(true);
  });

  it('markDiscontinuity continues seq and time and flags the next chunk', () => {
    const chunker = new TsChunker();
    const first = [...chunker.push(input), ...chunker.markDiscontinuity()];
    const second = [...chunker.push(input), ...chunker.flush()];
    expect(second[0]?.seq).toBe(first.length);
    expect(second[0]?.discontinuity).toBe(true);
    expect(second.slice(1).every((c) => !c.discontinuity)).toBe(true);
    const last = first[first.length - 1] as TsChunk;
    expect(second[0]?.mediaStartMs).toBeCloseTo(last.mediaStartMs + last.durationMs, 6);
  });
});

describe('ts-packets', () => {
  function packet(fill: (b: Buffer) => void): Buffer {
    const b = Buffer.alloc(188, 0xff);
    b[0] = 0x47;
    fill(b);
    return b;
  }

  it('reads PID, flags and a PCR with the 33rd base bit set (27 MHz → ms)', () => {
    const base = 2 ** 32 + 12345; // needs all 33 bits
    const ext = 299;
    const b = packet((p) => {
      p[1] = 0x40 | 0x01; // PUSI, PID high bits
      p[2] = 0x00; // PID 0x100
      p[3] = 0x30 | 7; // adaptation + payload, CC 7
      p[4] = 7; // adaptation_field_length
      p[5] = 0x40 | 0x10; // random_access + PCR flag
      p[6] = Math.floor(base / 2 ** 25) & 0xff;
      p[7] = Math.floor(base / 2 ** 17) & 0xff;
      p[8] = Math.floor(base / 2 ** 9) & 0xff;
      p[9] = Math.floor(base / 2) & 0xff;
      p[10] = ((base % 2) << 7) | 0x7e | (ext >> 8);
      p[11] = ext & 0xff;
    });
    const h = ts.parseTsPacket(b);
    expect(h).toMatchObject({ pid: 0x100, payloadUnitStart: true, continuityCounter: 7, randomAccess: true, payloadOffset: 12 });
    expect(h?.pcr).toBe(base * 300 + ext);
    expect(ts.pcrToMs(h?.pcr as number)).toBeCloseTo((base * 300 + ext) / 27_000, 9);
    expect(ts.parseTsPacket(Buffer.alloc(188))).toBeUndefined(); // no sync byte
  });

  it('finds the video PID and type in the PAT/PMT of the ffmpeg stream and classifies IDR NAL units', () => {
    const pat = ts.parseTsPacket(input, 188) as ts.TsPacketHeader; // packet 0 is the SDT
    const section = ts.readPsiSection(input.subarray(188, 376), pat);
    const programs = section && ts.parsePat(section);
    expect(programs?.length).toBe(1);
    const pmtPacket = input.subarray(376, 564);
    const pmtSection = ts.readPsiSection(pmtPacket, ts.parseTsPacket(pmtPacket) as ts.TsPacketHeader);
    const pmt = pmtSection && ts.parsePmt(pmtSection);
    expect(ts.parseTsPacket(pmtPacket)?.pid).toBe(programs?.[0]?.pmtPid);
    expect(pmt && ts.findVideoStream(pmt)).toMatchObject({ streamType: ts.StreamType.H264 });
    const corrupt = Buffer.from(pmtPacket);
    corrupt[20] = (corrupt[20] as number) ^ 0x01; // CRC must catch it
    expect(ts.readPsiSection(corrupt, ts.parseTsPacket(corrupt) as ts.TsPacketHeader)).toBeUndefined();
    const idr = Uint8Array.from([0, 0, 0, 1, 0x09, 0xf0, 0, 0, 1, 0x67, 1, 2, 0, 0, 1, 0x65, 0x88]);
    const p = Uint8Array.from([0, 0, 1, 0x09, 0xf0, 0, 0, 1, 0x41, 0x9a]);
    expect(ts.classifyAccessUnit(idr, ts.StreamType.H264)).toBe('keyframe');
    expect(ts.classifyAccessUnit(p, ts.StreamType.H264)).toBe('not-keyframe');
    expect(ts.classifyAccessUnit(idr.subarray(0, 12), ts.StreamType.H264)).toBe('unknown');
    expect(ts.classifyAccessUnit(Uint8Array.from([0, 0, 1, 0x26, 0x01]), ts.StreamType.Hevc)).toBe('keyframe'); // IDR_W_RADL
  });
});

describe('MediaTimeline', () => {
  const opts = { discontinuityGapMs: 3000, pcrSilenceMs: 2000 };
  const WRAP_MS = 2 ** 33 / 90;

  it('unwraps the 33-bit clock without a discontinuity', () => {
    const t = new MediaTimeline(opts);
    t.pcr(WRAP_MS - 40);
    const s = t.pcr(0);
    expect(s.discontinuity).toBe(false);
    expect(s.mediaMs).toBeCloseTo(WRAP_MS, 6);
  });

  it('rebases jumps: media time continues one step later and the jump is reported', () => {
    const t = new MediaTimeline(opts);
    t.pcr(1000);
    t.pcr(1020);
    const back = t.pcr(10);
    expect(back).toMatchObject({ discontinuity: true, mediaMs: 1040 });
    const leap = t.pcr(10 + 20 + 60_000);
    expect(leap.discontinuity).toBe(true);
    expect(leap.mediaMs).toBeCloseTo(1060, 6);
    expect(t.pcr(60_050, true).discontinuity).toBe(true); // discontinuity_indicator
  });

  it('uses PTS only while PCR is absent or has been silent for pcrSilenceMs', () => {
    const t = new MediaTimeline(opts);
    expect(t.pts(5000)?.mediaMs).toBe(5000); // no PCR yet: PTS drives
    const first = t.pcr(4000);
    expect(first).toMatchObject({ sourceChanged: true, discontinuity: false });
    expect(first.mediaMs).toBeGreaterThan(5000);
    expect(t.pts(5040)).toBeUndefined(); // PCR drives now
    expect(t.pts(6900)).toBeUndefined();
    const lost = t.pts(7100); // > 2000 ms of PTS progress without a PCR
    expect(lost?.sourceChanged).toBe(true);
    expect(t.clockSource).toBe('pts');
    expect(lost?.mediaMs).toBeGreaterThan(first.mediaMs);
  });
});
