// A phone that asks for a segment and never reads it: the response is cut after the send timeout,
// nothing stays in flight, and the box holds no copy of the chunk meanwhile (the socket's queue is a
// view of the buffer's bytes).
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ChunkBuffer } from '../../src/engine/chunk-buffer.js';
import { HlsRoutes } from '../../src/web/hls-routes.js';
import { PhoneViewers } from '../../src/web/phone-viewers.js';
import { tsWithPts } from '../helpers/ts-chunks.js';

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

describe('a phone that never reads', () => {
  it('is cut after the send timeout; no segment stays in flight', async () => {
    const big = new Uint8Array(48 * 1024 * 1024); // larger than what loopback socket buffers absorb
    big.set(tsWithPts(5000));
    const buffer = new ChunkBuffer({ capacityChunks: 8, maxBytes: 64 * 1024 * 1024 });
    buffer.put({ id: 0, timestampMs: 1, signature: new Uint8Array(0), data: tsWithPts(4000) });
    buffer.put({ id: 1, timestampMs: 2, signature: new Uint8Array(0), data: big });
    const routes = new HlsRoutes(
      { channel: () => ({ state: 'live', contentId: 'live-a', name: 'alpha', buffer, chunkMs: 1000, media: () => ({ playable: () => true, bytes: (c) => c.data }) }) },
      new PhoneViewers(4, Date.now),
      300,
    );
    const server = createServer((req, res) => routes.serve(req, res, req.url ?? '', { who: 'phone-1', permit: { ok: true }, approved: false }));
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    expect((await fetch(`http://127.0.0.1:${port}/hls/alpha/index.m3u8`)).status).toBe(200);
    const sock = connect(port, '127.0.0.1');
    sock.pause(); // never reads
    sock.write(`GET /hls/alpha/1.ts HTTP/1.1\r\nHost: x\r\n\r\n`);
    const closed = new Promise<void>((r) => sock.once('close', () => r()));
    await expect.poll(() => routes.stats().inFlight, { timeout: 2000 }).toBe(1);
    await expect.poll(() => routes.stats().slowCut, { timeout: 5000 }).toBe(1);
    await expect.poll(() => routes.stats().inFlight, { timeout: 1000 }).toBe(0);
    sock.resume();
    await closed;
    expect(routes.stats().segments).toBe(1);
  });
});
