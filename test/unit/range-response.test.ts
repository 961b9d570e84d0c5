// Byte ranges over real HTTP on loopback for a file played on demand: Range parsing, 200/206/416,
// a read into a missing piece waits for it (the reader's hooks see the playhead and the wait), headers
// leave before the bytes are held (a seeking player waits for them), and a client that goes away
// aborts the pending read.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { PieceByteSource, type PieceReader } from '../../src/player/byte-source.js';
import { parseRange, serveRange } from '../../src/player/range-response.js';

const PIECE = 1000;

/** Pieces of a 4500-byte file, each released by hand; readers wait for the missing ones. */
function pieces() {
  const data = Buffer.alloc(4500);
  for (let i = 0; i < data.length; i++) data[i] = (i * 13) & 0xff;
  const held = new Set<number>();
  const waiters = new Map<number, Array<() => void>>();
  let aborted = 0;
  const reader: PieceReader = {
    sizeBytes: data.length,
    pieceBytes: PIECE,
    has: (i) => held.has(i),
    read: (i) => (held.has(i) ? Uint8Array.from(data.subarray(i * PIECE, (i + 1) * PIECE)) : undefined),
    waitFor: (i, signal) =>
      new Promise((resolve, reject) => {
        waiters.set(i, [...(waiters.get(i) ?? []), resolve]);
        signal.addEventListener('abort', () => {
          aborted++;
          reject(new Error('gone'));
        });
      }),
  };
  const release = (i: number) => {
    held.add(i);
    for (const w of waiters.get(i) ?? []) w();
    waiters.delete(i);
  };
  return { data, reader, release, waiting: () => [...waiters.keys()], aborted: () => aborted };
}

let server: Server | undefined;
afterEach(() => new Promise<void>((r) => {
  server?.closeAllConnections();
  return server ? server.close(() => r()) : r();
}));

async function serve(reader: PieceReader, log: string[]): Promise<string> {
  const src = new PieceByteSource(reader, 'video/mp2t', {
    reading: (i) => log.push(`read ${i}`),
    waiting: (i) => {
      log.push(`wait ${i}`);
      return { done: () => log.push(`done ${i}`) };
    },
  });
  server = createServer((req, res) => void serveRange(req, res, src));
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

describe('byte ranges for the player', () => {
  it('parses one range, open or suffix, and refuses ranges past the end', () => {
    expect(parseRange(undefined, 100)).toBeNull();
    expect(parseRange('bytes=0-', 100)).toEqual([0, 99]);
    expect(parseRange('bytes=10-19', 100)).toEqual([10, 19]);
    expect(parseRange('bytes=90-500', 100)).toEqual([90, 99]);
    expect(parseRange('bytes=-10', 100)).toEqual([90, 99]);
    expect(parseRange('bytes=100-', 100)).toBe('unsatisfiable');
    expect(parseRange('bytes=0-1,5-6', 100)).toBeNull(); // several ranges: the whole body
    expect(parseRange('items=0-1', 100)).toBeNull();
  });

  it('answers 206 with Content-Range from held pieces, 200 for the whole, 416 past the end', async () => {
    const p = pieces();
    for (let i = 0; i < 5; i++) p.release(i);
    const log: string[] = [];
    const url = await serve(p.reader, log);
    const part = await fetch(url, { headers: { Range: 'bytes=1500-2600' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe('bytes 1500-2600/4500');
    expect(part.headers.get('accept-ranges')).toBe('bytes');
    expect(Buffer.from(await part.arrayBuffer()).equals(p.data.subarray(1500, 2601))).toBe(true);
    expect(log).toEqual(['read 1', 'read 2']);
    const whole = await fetch(url);
    expect(whole.status).toBe(200);
    expect(whole.headers.get('content-length')).toBe('4500');
    expect(Buffer.from(await whole.arrayBuffer()).equals(p.data)).toBe(true);
    expect((await fetch(url, { headers: { Range: 'bytes=4500-' } })).status).toBe(416);
    const head = await fetch(url, { method: 'HEAD' });
    expect(head.headers.get('content-length')).toBe('4500');
    expect((await fetch(url, { method: 'POST' })).status).toBe(405);
  });

  it('a read into a missing piece waits for it, then the body goes on', async () => {
    const p = pieces();
    p.release(0);
    const log: string[] = [];
    const url = await serve(p.reader, log);
    const got = fetch(url, { headers: { Range: 'bytes=3200-' } }).then(async (r) => Buffer.from(await r.arrayBuffer()));
    await until(() => p.waiting().includes(3));
    expect(log).toEqual(['read 3', 'wait 3']);
    p.release(3);
    await until(() => p.waiting().includes(4));
    p.release(4);
    expect((await got).equals(p.data.subarray(3200))).toBe(true);
    expect(log).toEqual(['read 3', 'wait 3', 'done 3', 'read 4', 'wait 4', 'done 4']);
  });

  it("sends a range's headers before its bytes are held, so a seeking player can close the old range", async () => {
    // ffmpeg (mpv) opens the new range, waits for its headers, and only then closes the old one,
    // whose reads would otherwise keep moving the playhead back while the new one waits.
    const p = pieces();
    const log: string[] = [];
    const url = await serve(p.reader, log);
    const old = new AbortController();
    void fetch(url, { signal: old.signal }).then((r) => r.arrayBuffer()).catch(() => 'closed');
    await until(() => p.waiting().includes(0));
    const tail = await fetch(url, { headers: { Range: 'bytes=4000-' }, signal: AbortSignal.timeout(5000) }); // piece 4 is not held
    expect(tail.status).toBe(206);
    expect(tail.headers.get('content-range')).toBe('bytes 4000-4499/4500');
    old.abort();
    await until(() => p.aborted() === 1);
    p.release(4);
    expect(Buffer.from(await tail.arrayBuffer()).equals(p.data.subarray(4000))).toBe(true);
    expect(log).toEqual(['read 0', 'wait 0', 'read 4', 'wait 4', 'done 0', 'done 4']);
  });

  it('a player that goes away while waiting aborts the read', async () => {
    const p = pieces();
    const url = await serve(p.reader, []);
    const ac = new AbortController();
    const req = fetch(url, { signal: ac.signal }).then((r) => r.arrayBuffer()).catch(() => 'aborted');
    await until(() => p.waiting().includes(0));
    ac.abort();
    expect(await req).toBe('aborted');
    await until(() => p.aborted() === 1);
  });
});

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
