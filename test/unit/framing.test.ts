import fc from 'fast-check';
import { crc32 } from 'node:zlib';
import { describe, expect, it, vi } from 'vitest';
import { encodePayload, typeCodeOf } from '../../src/protocol/codec.js';
import {
  encodeFrame,
  FRAME_HEADER_BYTES,
  FRAME_MARKER,
  FRAME_OVERHEAD_BYTES,
  FrameDecoder,
  PROTOCOL_VERSION,
  type FrameError,
} from '../../src/protocol/framing.js';
import type { Message } from '../../src/protocol/messages.js';
import { arbMessage, normalise } from './arbitraries.js';

const MAX = 64 * 1024;
/** Most bytes a decoder may hold between pushes. */
const BOUND = MAX + FRAME_OVERHEAD_BYTES - 1;

/** Deterministic PRNG (mulberry32): returns floats in [0, 1). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomBytes(rand: () => number, n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (rand() * 256) | 0;
  return b;
}

const req = (i: number): Message => ({ type: 'DataChunkReq', peerId: 'peer', contentId: 'chan', chunkId: i });
const chunkIds = (ms: Message[]): number[] => ms.map((m) => (m.type === 'DataChunkReq' ? m.chunkId : -1));

/** A frame built by hand, with a correct CRC unless told otherwise. */
function rawFrame(type: number, payload: Uint8Array, version = PROTOCOL_VERSION): Buffer {
  const f = Buffer.alloc(FRAME_OVERHEAD_BYTES + payload.length);
  FRAME_MARKER.copy(f, 0);
  f[4] = version;
  f[5] = type;
  f.writeUInt32BE(payload.length, 6);
  f.set(payload, FRAME_HEADER_BYTES);
  f.writeUInt32BE(crc32(f.subarray(4, FRAME_HEADER_BYTES + payload.length)), FRAME_HEADER_BYTES + payload.length);
  return f;
}

function decoder(errors: FrameError[] = [], max = MAX): FrameDecoder {
  return new FrameDecoder({ maxPayloadBytes: max, onError: (e) => errors.push(e) });
}

describe('encodeFrame', () => {
  it('lays out marker, version, type, length, payload, CRC', () => {
    const m = req(42);
    const f = encodeFrame(m);
    const payload = encodePayload(m);
    expect(f.length).toBe(FRAME_OVERHEAD_BYTES + payload.length);
    expect(f.subarray(0, 4).equals(FRAME_MARKER)).toBe(true);
    expect(f[4]).toBe(PROTOCOL_VERSION);
    expect(f[5]).toBe(typeCodeOf(m));
    expect(f.readUInt32BE(6)).toBe(payload.length);
    expect(f.subarray(10, 10 + payload.length).equals(payload)).toBe(true);
    expect(f.readUInt32BE(f.length - 4)).toBe(crc32(f.subarray(4, f.length - 4)));
    expect(f.equals(rawFrame(typeCodeOf(m), payload))).toBe(true);
  });

  it('round-trips every message type through a decoder', () => {
    fc.assert(
      fc.property(fc.array(arbMessage, { maxLength: 5 }), (ms) => {
        const d = decoder();
        const out = d.push(Buffer.concat(ms.map(encodeFrame)));
        expect(normalise(out)).toEqual(normalise(ms));
        expect(d.bufferedBytes).toBe(0);
      }),
      { numRuns: 200 },
    );
  });

  it('rejects invalid messages with the codec error', () => {
    expect(() => encodeFrame({ ...req(0), chunkId: -1 } as Message)).toThrow(/DataChunkReq.chunkId/);
  });
});

describe('FrameDecoder', () => {
  it('rejects a bad maxPayloadBytes', () => {
    expect(() => new FrameDecoder({ maxPayloadBytes: -1 })).toThrow(RangeError);
    expect(() => new FrameDecoder({ maxPayloadBytes: 1.5 })).toThrow(RangeError);
  });

  it('decodes the same whatever byte boundary the stream is split at', () => {
    const ms: Message[] = [
      req(1),
      { type: 'DataChunkResp', peerId: 'p', contentId: 'c', chunkId: 2, timestampMs: 3, signature: new Uint8Array(64).fill(9), data: Buffer.alloc(300, 7) },
      { type: 'Hello', peerId: 'p', contentId: '', contact: { host: 'h', port: 1 }, role: 'node', observed: { host: '', port: 0 } },
    ];
    const stream = Buffer.concat(ms.map(encodeFrame));
    for (let cut = 0; cut <= stream.length; cut++) {
      const d = decoder();
      const out = [...d.push(stream.subarray(0, cut)), ...d.push(stream.subarray(cut))];
      expect(normalise(out)).toEqual(normalise(ms));
      expect(d.bufferedBytes).toBe(0);
    }
    const d = decoder();
    const out: Message[] = [];
    for (let i = 0; i < stream.length; i++) out.push(...d.push(stream.subarray(i, i + 1)));
    expect(normalise(out)).toEqual(normalise(ms));
    expect(d.stats).toMatchObject({ framesOk: 3, bytesSkipped: 0, resyncs: 0 });
  });

  it('decodes many frames from one chunk, in order', () => {
    const d = decoder();
    const out = d.push(Buffer.concat(Array.from({ length: 1000 }, (_, i) => encodeFrame(req(i)))));
    expect(chunkIds(out)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(d.stats.framesOk).toBe(1000);
  });

  it('does linear work on many tiny pushes of a big frame: each byte is copied at most twice', () => {
    // Wall-clock time is not a usable measure here (the garbage collector makes 4x the bytes take
    // 4-16x the time on a busy machine); the bytes the decoder copies are. Merging what is pending
    // on every push would copy about n²/2 bytes.
    const big: Message = { type: 'DataChunkResp', peerId: 'p', contentId: 'c', chunkId: 1, timestampMs: 0, signature: new Uint8Array(0), data: Buffer.alloc(256 * 1024, 3) };
    const f = encodeFrame(big);
    const d = decoder([], 1 << 20);
    const out: Message[] = [];
    let copied = 0;
    const realConcat = Buffer.concat.bind(Buffer);
    const concat = vi.spyOn(Buffer, 'concat').mockImplementation((list, length) => {
      const merged = realConcat(list, length);
      copied += merged.length;
      return merged;
    });
    try {
      for (let i = 0; i < f.length; i++) out.push(...d.push(f.subarray(i, i + 1)));
    } finally {
      concat.mockRestore();
    }
    expect(normalise(out)).toEqual(normalise([big]));
    expect(copied, 'the frame was merged from its pushes').toBeGreaterThan(0);
    expect(copied / f.length, `${copied} bytes copied for a ${f.length}-byte frame`).toBeLessThanOrEqual(2);
  });

  it('skips and counts garbage before a marker', () => {
    const errors: FrameError[] = [];
    const d = decoder(errors);
    const garbage = Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    const out = d.push(Buffer.concat([garbage, encodeFrame(req(1)), encodeFrame(req(2))]));
    expect(chunkIds(out)).toEqual([1, 2]);
    expect(d.stats).toMatchObject({ framesOk: 2, bytesSkipped: garbage.length, resyncs: 1 });
    expect(errors.map((e) => e.kind)).toEqual(['garbage']);
  });

  it('a partial marker split across pushes is still found', () => {
    const d = decoder();
    const f = encodeFrame(req(5));
    expect(d.push(Buffer.concat([Buffer.from('xxxxxxx'), f.subarray(0, 2)]))).toEqual([]);
    expect(d.bufferedBytes).toBeLessThanOrEqual(3);
    expect(chunkIds(d.push(f.subarray(2)))).toEqual([5]);
  });

  it('a CRC error in the middle of 100 frames loses only that frame', () => {
    const frames = Array.from({ length: 100 }, (_, i) => encodeFrame(req(i)));
    const bad = frames[50]!;
    bad[FRAME_HEADER_BYTES + 3]! ^= 0x40; // a payload byte
    const errors: FrameError[] = [];
    const d = decoder(errors);
    const out = d.push(Buffer.concat(frames));
    expect(chunkIds(out)).toEqual(Array.from({ length: 100 }, (_, i) => i).filter((i) => i !== 50));
    expect(d.stats).toMatchObject({ framesOk: 99, crcErrors: 1, resyncs: 1, bytesSkipped: bad.length, badVersion: 0, decodeErrors: 0 });
    expect(errors.map((e) => e.kind)).toEqual(['crc']);
  });

  it('a corrupted CRC field is a CRC error too', () => {
    const frames = [encodeFrame(req(1)), encodeFrame(req(2)), encodeFrame(req(3))];
    frames[1]![frames[1]!.length - 1]! ^= 1;
    const d = decoder();
    expect(chunkIds(d.push(Buffer.concat(frames)))).toEqual([1, 3]);
    expect(d.stats.crcErrors).toBe(1);
  });

  it('a wrong version is dropped and the stream resyncs', () => {
    const errors: FrameError[] = [];
    const d = decoder(errors);
    const other = PROTOCOL_VERSION + 1;
    const bad = rawFrame(typeCodeOf(req(2)), encodePayload(req(2)), other);
    const out = d.push(Buffer.concat([encodeFrame(req(1)), bad, encodeFrame(req(3))]));
    expect(chunkIds(out)).toEqual([1, 3]);
    expect(d.stats).toMatchObject({ framesOk: 2, badVersion: 1, resyncs: 1, bytesSkipped: bad.length });
    expect(errors).toEqual([{ kind: 'bad-version', detail: `version ${other}, expected ${PROTOCOL_VERSION}` }]);
  });

  it('rejects an oversized declared length from the header, without buffering', () => {
    const errors: FrameError[] = [];
    const d = decoder(errors);
    const header = Buffer.alloc(FRAME_HEADER_BYTES);
    FRAME_MARKER.copy(header, 0);
    header[4] = PROTOCOL_VERSION;
    header[5] = 10;
    header.writeUInt32BE(1 << 30, 6); // 1 GiB
    expect(d.push(header)).toEqual([]);
    expect(d.bufferedBytes).toBeLessThanOrEqual(3);
    expect(d.stats.oversized).toBe(1);
    expect(errors[0]?.kind).toBe('oversized');
    // the body that follows is garbage to the decoder; the next real frame is found
    d.push(Buffer.alloc(100_000, 0x55));
    expect(d.bufferedBytes).toBeLessThanOrEqual(3);
    expect(chunkIds(d.push(encodeFrame(req(9))))).toEqual([9]);
    expect(errors.map((e) => e.kind)).toEqual(['oversized']);
  });

  it('a payload exactly at maxPayloadBytes is accepted', () => {
    const d = decoder([], 64);
    const payload = encodePayload({ type: 'Error', peerId: '', contentId: '', code: 1, message: 'x'.repeat(58) });
    expect(payload.length).toBe(64);
    expect(d.push(rawFrame(19, payload))).toHaveLength(1);
    expect(d.push(encodeFrame({ type: 'Error', peerId: '', contentId: '', code: 1, message: 'x'.repeat(59) }))).toEqual([]);
    expect(d.stats.oversized).toBe(1);
  });

  it('a truncated frame followed by good frames: the good frames are recovered', () => {
    const d = decoder();
    const cutFrame = encodeFrame(req(1)).subarray(0, 12);
    const out = d.push(Buffer.concat([cutFrame, encodeFrame(req(2)), encodeFrame(req(3))]));
    expect(chunkIds(out)).toEqual([2, 3]);
    expect(d.stats).toMatchObject({ framesOk: 2, crcErrors: 1, bytesSkipped: cutFrame.length });
  });

  it('a truncated header followed by a good frame', () => {
    const d = decoder();
    const out = d.push(Buffer.concat([encodeFrame(req(1)).subarray(0, 6), encodeFrame(req(2))]));
    expect(chunkIds(out)).toEqual([2]);
    expect(d.stats.resyncs).toBe(1);
  });

  it('an unknown type with a valid CRC skips exactly that frame', () => {
    const errors: FrameError[] = [];
    const d = decoder(errors);
    const unknown = rawFrame(200, encodePayload(req(0)));
    const out = d.push(Buffer.concat([encodeFrame(req(1)), unknown, encodeFrame(req(2))]));
    expect(chunkIds(out)).toEqual([1, 2]);
    expect(d.stats).toMatchObject({ framesOk: 2, unknownType: 1, resyncs: 0, bytesSkipped: unknown.length });
    expect(errors).toEqual([{ kind: 'unknown-type', detail: 'type: unknown message type code 200' }]);
  });

  it('an undecodable payload with a valid CRC skips exactly that frame', () => {
    const errors: FrameError[] = [];
    const d = decoder(errors);
    const bad = rawFrame(typeCodeOf(req(0)), Buffer.concat([encodePayload(req(0)), Buffer.from([1])]));
    const out = d.push(Buffer.concat([encodeFrame(req(1)), bad, encodeFrame(req(2))]));
    expect(chunkIds(out)).toEqual([1, 2]);
    expect(d.stats).toMatchObject({ framesOk: 2, decodeErrors: 1, resyncs: 0 });
    expect(errors[0]).toEqual({ kind: 'decode', detail: 'DataChunkReq: 1 unexpected bytes after the last field' });
  });

  it('a 1 MB random stream never throws and stays bounded', () => {
    const rand = prng(7);
    const d = decoder();
    let pushed = 0;
    while (pushed < 1 << 20) {
      const n = 1 + ((rand() * 4096) | 0);
      const chunk = randomBytes(rand, n);
      // sprinkle start markers so headers are parsed too
      if (rand() < 0.5) FRAME_MARKER.copy(chunk, (rand() * Math.max(1, n - 4)) | 0);
      d.push(chunk);
      pushed += n;
      expect(d.bufferedBytes).toBeLessThanOrEqual(BOUND);
    }
    expect(d.stats.bytesSkipped).toBeGreaterThan(0);
    expect(d.stats.resyncs).toBeGreaterThan(0);
    // still alive: a good frame after enough bytes to close any frame the garbage opened
    const out = d.push(Buffer.concat([Buffer.alloc(BOUND), encodeFrame(req(77))]));
    expect(chunkIds(out)).toContain(77);
  });

  it('fuzz: 100,000 mutated frames never throw, stay bounded, and later valid frames decode', () => {
    const rand = prng(2024);
    const pool = fc.sample(arbMessage, { seed: 42, numRuns: 400 }).map((m) => encodeFrame(m));
    const pick = (): Buffer => pool[(rand() * pool.length) | 0]!;
    const int = (n: number): number => (rand() * n) | 0;

    function mutate(frame: Buffer): Buffer {
      const f = Buffer.from(frame);
      switch (int(8)) {
        case 0: // flip 1-3 bits
          for (let k = 1 + int(3); k > 0; k--) f[int(f.length)]! ^= 1 << int(8);
          return f;
        case 1: // overwrite a header byte
          f[int(FRAME_HEADER_BYTES)] = int(256);
          return f;
        case 2: { // insert 1-16 random bytes
          const at = int(f.length + 1);
          return Buffer.concat([f.subarray(0, at), randomBytes(rand, 1 + int(16)), f.subarray(at)]);
        }
        case 3: { // delete 1-16 bytes
          const at = int(f.length);
          return Buffer.concat([f.subarray(0, at), f.subarray(at + 1 + int(16))]);
        }
        case 4: // truncate
          return f.subarray(0, int(f.length));
        case 5: { // corrupt the payload but fix the CRC: reaches the payload decoder
          const len = f.length - FRAME_OVERHEAD_BYTES;
          if (len > 0) f[FRAME_HEADER_BYTES + int(len)] = int(256);
          if (rand() < 0.3) f[5] = int(256); // unknown or different type
          f.writeUInt32BE(crc32(f.subarray(4, f.length - 4)), f.length - 4);
          return f;
        }
        case 6: // a plausible but wrong length (waits for bytes, then fails its CRC)
          f.writeUInt32BE(int(MAX + 1), 6);
          return f;
        default: // splice two frames
          return Buffer.concat([f.subarray(0, int(f.length)), pick().subarray(int(20))]);
      }
    }

    const d = decoder([], MAX);
    const sentinelsSent: string[] = [];
    const sentinelsSeen: string[] = [];
    const collect = (ms: Message[]): void => {
      for (const m of ms) if (m.type === 'KeepAlive' && m.contentId === 'fuzz-sentinel') sentinelsSeen.push(m.peerId);
    };
    for (let i = 0; i < 100_000; i++) {
      const bytes = mutate(pick());
      const cut = int(bytes.length + 1);
      collect(d.push(bytes.subarray(0, cut)));
      collect(d.push(bytes.subarray(cut)));
      if (d.bufferedBytes > BOUND) throw new Error(`bufferedBytes ${d.bufferedBytes} > ${BOUND} at ${i}`);
      if (i % 100 === 99) {
        const id = `s${i}`;
        sentinelsSent.push(id);
        collect(d.push(encodeFrame({ type: 'KeepAlive', peerId: id, contentId: 'fuzz-sentinel' })));
      }
    }
    // enough neutral bytes to complete any frame a false marker opened, so every sentinel is reached
    collect(d.push(Buffer.alloc(BOUND)));
    expect(sentinelsSeen).toEqual(sentinelsSent);
    expect(d.bufferedBytes).toBeLessThanOrEqual(3);
    const s = d.stats;
    expect(s.framesOk).toBeGreaterThanOrEqual(sentinelsSent.length);
    for (const counter of [s.crcErrors, s.badVersion, s.oversized, s.unknownType, s.decodeErrors, s.resyncs]) {
      expect(counter).toBeGreaterThan(0);
    }
  });
});
