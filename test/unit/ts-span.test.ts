// The playing time of an MPEG-TS file from its first and last 64 KiB, against ffprobe's duration of
// the whole file (ffmpeg-made media), and what it says of bytes that are not MPEG-TS.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { pesTimestamps, tsSpanMs } from '../../src/source/ts-span.js';
import { makeTestStream } from '../support/media.js';

const dir = mkdtempSync(join(tmpdir(), 'ts-span-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function ffprobeDurationMs(path: string): number {
  const r = spawnSync('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'default=nw=1:nk=1', path], { encoding: 'utf8' });
  return Number(r.stdout.trim()) * 1000;
}

describe('MPEG-TS span from the head and the tail', () => {
  it("is within a frame of ffprobe's duration of the whole file, with the tail cut anywhere", () => {
    const path = makeTestStream({ seconds: 12, bitrateKbps: 800, path: join(dir, 'film.ts') });
    const bytes = new Uint8Array(readFileSync(path));
    const probe = ffprobeDurationMs(path);
    expect(probe).toBeGreaterThan(11_000);
    for (const cut of [65_536, 65_536 + 17, 100_000]) {
      const span = tsSpanMs(bytes.subarray(0, 65_536), bytes.subarray(bytes.length - cut));
      expect(span).toBeDefined();
      // ffprobe counts the last frame's own duration (40 ms at 25 fps; an AAC frame 21 ms).
      expect(Math.abs((span as number) - probe)).toBeLessThanOrEqual(60);
    }
    // A tail that starts mid-packet: its first packet is found by sync bytes.
    expect(pesTimestamps(bytes.subarray(17, 65_536)).length).toBeGreaterThan(0);
  });

  it('says nothing of bytes that are not MPEG-TS, or hold no timestamp', () => {
    const noise = new Uint8Array(65_536).map((_, i) => (i * 7919) % 251);
    expect(pesTimestamps(noise)).toEqual([]);
    expect(tsSpanMs(noise, noise)).toBeUndefined();
    const nulls = new Uint8Array(188 * 4);
    for (let p = 0; p < 4; p++) nulls.set([0x47, 0x1f, 0xff, 0x10], p * 188);
    expect(tsSpanMs(nulls, nulls)).toBeUndefined();
  });
});
