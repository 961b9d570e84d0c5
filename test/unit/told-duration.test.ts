// Telling mpv an MPEG-TS film's duration: read from the film's two ends through the byte source the
// player is served from (waiting for them as mpv would), and the EDL mpv plays it as.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ByteSource } from '../../src/player/byte-source.js';
import { edlOfWhole, mpegTsDurationS } from '../../src/player/told-duration.js';
import { SPAN_PROBE_BYTES } from '../../src/source/ts-span.js';
import { buildFileManifest } from '../../src/source/file-manifest.js';
import { makeTestStream } from '../support/media.js';

const dir = mkdtempSync(join(tmpdir(), 'told-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Serves `bytes` at most `block` at a time, recording the offsets read. */
function source(bytes: Uint8Array, block = 5000): ByteSource & { reads: number[] } {
  const reads: number[] = [];
  return {
    reads,
    sizeBytes: bytes.length,
    contentType: 'video/mp2t',
    read: async (offset, max) => {
      reads.push(offset);
      return bytes.subarray(offset, Math.min(bytes.length, offset + Math.min(max, block)));
    },
  };
}

describe('the duration told to mpv', () => {
  it("is the film's length from its first and last 64 KiB, read in blocks; nothing in between is read", async () => {
    const film = new Uint8Array(readFileSync(makeTestStream({ seconds: 20, bitrateKbps: 600, path: join(dir, 'f.ts') })));
    const src = source(film);
    const d = await mpegTsDurationS(src, new AbortController().signal);
    expect(d).toBeDefined();
    expect(Math.abs((d as number) - 20)).toBeLessThan(0.2);
    expect(src.reads.every((o) => o < SPAN_PROBE_BYTES || o >= film.length - SPAN_PROBE_BYTES)).toBe(true);
  });

  it('is not told for what is not MPEG-TS or too small, and a source that fails rejects', async () => {
    const noise = new Uint8Array(300_000).map((_, i) => (i * 31) % 253);
    expect(await mpegTsDurationS(source(noise), new AbortController().signal)).toBeUndefined();
    expect(await mpegTsDurationS(source(new Uint8Array(1000)), new AbortController().signal)).toBeUndefined();
    const failing: ByteSource = { sizeBytes: 300_000, contentType: 'video/mp2t', read: async () => Promise.reject(new Error('the download failed')) };
    await expect(mpegTsDurationS(failing, new AbortController().signal)).rejects.toThrow('the download failed');
  });

  it("plays the whole URL for that long, the URL quoted by its length in bytes (mpv's %n% form)", () => {
    const url = 'http://127.0.0.1:8090/file/dl-abc';
    expect(edlOfWhole(url, 240.05)).toBe(`edl://%${url.length}%${url},0,240.050`);
  });

  it("is in the manifest of a published MPEG-TS film (version 2); any other file's manifest has none (version 1)", () => {
    const path = makeTestStream({ seconds: 12, bitrateKbps: 600, path: join(dir, 'p.ts') });
    const built = buildFileManifest(path, 0);
    expect(built.manifestBytes[4]).toBe(2);
    expect(Math.abs((built.manifest.durationMs as number) - 12_000)).toBeLessThan(200);
    const noise = join(dir, 'noise.bin');
    writeFileSync(noise, new Uint8Array(300_000).map((_, i) => (i * 31) % 253));
    const plain = buildFileManifest(noise, 0);
    expect(plain.manifestBytes[4]).toBe(1);
    expect(plain.manifest.durationMs).toBeUndefined();
  });
});
