// Phones' live segments when chunks are shorter than a segment: segment n is the concatenation of
// chunks n×k .. n×k+k−1 (k = 4 for 250 ms chunks), served as the buffer's bytes; a missing chunk makes
// the segment 404 (naming the chunk); and a session that may not play part of what the box holds is
// told "preview" even while the listed window happens to show only the clear part.
import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { ChunkBuffer, type ChunkRecord } from '../../src/engine/chunk-buffer.js';
import { HlsRoutes } from '../../src/web/hls-routes.js';
import type { MediaOf } from '../../src/web/hls-window.js';
import { PhoneViewers } from '../../src/web/phone-viewers.js';
import { tsWithPts } from '../helpers/ts-chunks.js';

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

async function serve(buffer: ChunkBuffer, media: MediaOf): Promise<string> {
  const routes = new HlsRoutes({ channel: () => ({ state: 'live', contentId: 'live-a', name: 'alpha', buffer, chunkMs: 250, media: () => media }) }, new PhoneViewers(4, Date.now), 5000);
  const server = createServer((req, res) => routes.serve(req, res, req.url ?? '', { who: 'phone-1', permit: { ok: true }, approved: false }));
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}/hls/alpha`;
}

function bufferOf(ids: number[]): ChunkBuffer {
  const b = new ChunkBuffer({ capacityChunks: 64, maxBytes: 1 << 24 });
  for (const id of ids) b.put({ id, timestampMs: 1_700_000_000_000 + id * 250, signature: new Uint8Array(0), data: tsWithPts(10_000 + id * 250) });
  return b;
}

const ALL: MediaOf = { playable: () => true, bytes: (c) => c.data };

describe('live segments of short chunks', () => {
  it('serves segment n as chunks 4n..4n+3, byte for byte, and names a missing chunk', async () => {
    const ids = Array.from({ length: 24 }, (_, i) => i).filter((i) => i !== 9);
    const buffer = bufferOf(ids);
    const base = await serve(buffer, ALL);
    const list = await (await fetch(`${base}/index.m3u8`)).text();
    expect(list).toContain('#EXT-X-MEDIA-SEQUENCE:0');
    expect(list.match(/^\d+\.ts$/gm)).toEqual(['0.ts', '1.ts', '2.ts', '3.ts', '4.ts', '5.ts']);
    expect(list.split('\n').indexOf('2.ts') - list.split('\n').indexOf('#EXT-X-GAP')).toBe(1); // segment 2 holds chunk 9
    const seg1 = Buffer.from(await (await fetch(`${base}/1.ts`)).arrayBuffer());
    const want = Buffer.concat([4, 5, 6, 7].map((id) => (buffer.get(id) as ChunkRecord).data));
    expect(seg1.equals(want)).toBe(true);
    const missing = await fetch(`${base}/2.ts`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: string }).error).toMatch(/segment 2 .*chunk 9 is missing/);
  });

  it('says "preview" to a session that may not play a chunk the box holds, even beyond the listed window', async () => {
    // Chunks 0-11 clear (a preview window), 12-13 protected; 14 is missing, so the listed window
    // ends with segment 2 (chunks 8-11) and shows no gap.
    const buffer = bufferOf([...Array.from({ length: 14 }, (_, i) => i), 15]);
    const clearOnly: MediaOf = { playable: (c) => c.id < 12, bytes: (c) => (c.id < 12 ? c.data : undefined) };
    const base = await serve(buffer, clearOnly);
    const r = await fetch(`${base}/index.m3u8`);
    const list = await r.text();
    expect(list).not.toContain('#EXT-X-GAP');
    expect(list.match(/^\d+\.ts$/gm)).toEqual(['0.ts', '1.ts', '2.ts']);
    expect(r.headers.get('X-Superdist-Access')).toBe('preview');
    // A channel that is all clear is "clear".
    const clear = await fetch(`${await serve(bufferOf([0, 1, 2, 3, 4, 5, 6, 7]), ALL)}/index.m3u8`);
    expect(clear.headers.get('X-Superdist-Access')).toBe('clear');
  });
});
