// The local stream server over real loopback HTTP, with short chunks so the timeline runs fast.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { get } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { LiveOutput, type LiveOutputOptions } from '../../src/player/live-output.js';
import { clockFromFirstAsk } from '../helpers/playhead.js';
import { StreamServer, type StreamServerOptions } from '../../src/player/stream-server.js';

const dir = mkdtempSync(join(tmpdir(), 'stream-server-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** A chunk of `packets` TS-sized packets filled with its seq, so any mix-up shows. */
const chunk = (seq: number, packets = 4) => new Uint8Array(188 * packets).fill(seq & 0xff);

interface Reader {
  bytes: () => Buffer;
  firstByteAt: () => number | undefined;
  ended: Promise<void>;
  status: Promise<number>;
  close: () => void;
}

function read(url: string): Reader {
  const parts: Buffer[] = [];
  let first: number | undefined;
  let close = () => undefined as void;
  let resolveStatus!: (n: number) => void;
  const status = new Promise<number>((r) => (resolveStatus = r));
  const ended = new Promise<void>((resolve, reject) => {
    const req = get(url, (res) => {
      resolveStatus(res.statusCode ?? 0);
      res.on('data', (d: Buffer) => {
        first ??= Date.now();
        parts.push(d);
      });
      res.on('end', () => resolve());
      res.on('error', reject);
    });
    req.on('error', reject);
    close = () => req.destroy();
  });
  ended.catch(() => undefined);
  return { bytes: () => Buffer.concat(parts), firstByteAt: () => first, ended, status, close };
}

async function waitUntil(what: string, ms: number, cond: () => boolean): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

describe('StreamServer', () => {
  let server: StreamServer | undefined;
  let output: LiveOutput | undefined;
  afterEach(async () => {
    output?.close();
    await server?.close();
    server = undefined;
    output = undefined;
  });

  async function setup(o: Partial<LiveOutputOptions> = {}, s: StreamServerOptions = {}, recordFile?: string) {
    server = new StreamServer(s);
    await server.listen();
    output = new LiveOutput({ schedule: clockFromFirstAsk(100, 300), prebufferMs: 300, playerBufferMs: 400, ...o });
    await server.addChannel('test', output, { recordFile });
    return { server, output, url: server.url('test') };
  }

  it('waits for the prebuffer before the first byte, then streams the chunks in order', async () => {
    const { server, output, url } = await setup();
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/live\/test\.ts$/);
    const r = read(url);
    expect(await r.status).toBe(200);
    output.push(0, 100, chunk(0));
    output.push(1, 100, chunk(1));
    await sleep(300);
    expect(r.firstByteAt()).toBeUndefined(); // 200 ms of media < 300 ms prebuffer
    const third = Date.now();
    output.push(2, 100, chunk(2));
    await waitUntil('first byte', 2000, () => r.firstByteAt() !== undefined);
    expect(r.firstByteAt()!).toBeGreaterThanOrEqual(third);
    for (let s = 3; s < 8; s++) output.push(s, 100, chunk(s));
    output.end();
    await r.ended;
    expect(r.bytes()).toEqual(Buffer.concat([0, 1, 2, 3, 4, 5, 6, 7].map((s) => chunk(s))));
    const st = server.channelStats('test');
    expect(st.output).toMatchObject({ chunksOut: 8, discontinuities: 0 });
    expect(st.bytesOut).toBe(8 * 4 * 188);
    expect(st.clientsServed).toBe(1);
  });

  it('paces to the playback clock: at most the player buffer ahead of it', async () => {
    const { output, url } = await setup();
    const r = read(url);
    await r.status;
    const t = Date.now();
    for (let s = 0; s < 10; s++) output.push(s, 100, chunk(s));
    output.end();
    await r.ended;
    // chunk k is due k × 100 ms after the start and goes out 400 ms before: the last of 10 at ~500 ms
    expect(Date.now() - t).toBeGreaterThanOrEqual(450);
    expect(r.bytes().length).toBe(10 * 4 * 188);
  });

  it('passes the playhead’s skip on, drops a chunk after its turn, and records exactly what the player got', async () => {
    const rec = join(dir, 'late.ts');
    const { server, output, url } = await setup({}, {}, rec);
    const r = read(url);
    await r.status;
    for (const s of [0, 1, 2, 3]) output.push(s, 100, chunk(s));
    output.skip(4); // missing at its deadline: the playhead skipped it
    for (const s of [5, 6, 7]) output.push(s, 100, chunk(s));
    await sleep(600);
    output.push(4, 100, chunk(4));
    output.push(8, 100, chunk(8));
    output.end();
    await r.ended;
    const want = Buffer.concat([0, 1, 2, 3, 5, 6, 7, 8].map((s) => chunk(s)));
    expect(r.bytes()).toEqual(want);
    const st = server.channelStats('test');
    expect(st.output).toMatchObject({ discontinuities: 1, lateChunks: 1, chunksOut: 8 });
    await server.removeChannel('test');
    expect(readFileSync(rec)).toEqual(r.bytes());
  });

  it('starts a client that joins late at the playhead, each client at its own position', async () => {
    const { server, output, url } = await setup();
    const a = read(url);
    await a.status;
    let seq = 0;
    const feeder = setInterval(() => output.push(seq, 100, chunk(seq++)), 100);
    try {
      await sleep(1200);
      const newestAtConnect = seq - 1;
      const b = read(url);
      await waitUntil('late client bytes', 2000, () => b.bytes().length > 0);
      const firstSeqOfB = b.bytes()[0]!;
      expect(firstSeqOfB).toBeGreaterThanOrEqual(5); // not from the beginning
      const st = server.channelStats('test');
      expect(st.clients).toHaveLength(2);
      // b starts from media already buffered when it connected (at a's playhead): it did not wait for
      // new chunks or a fresh prebuffer. (How soon the first byte goes out is wall-clock time on a
      // shared machine, so the order of chunks is what is asserted.)
      expect(firstSeqOfB).toBeLessThanOrEqual(newestAtConnect);
      expect(st.clients[1]!.firstByteMs).toBeDefined();
      expect(a.bytes()[0]).toBe(0);
      b.close();
    } finally {
      clearInterval(feeder);
    }
    output.end();
    await a.ended;
    expect(a.bytes().length % (4 * 188)).toBe(0);
  });

  it('bounds a client that does not read: it drops to the live edge, memory stays flat', async () => {
    const chunkBytes = 64 * 1024;
    const { server, output, url } = await setup(
      { schedule: clockFromFirstAsk(10), prebufferMs: 50, playerBufferMs: 100 },
      { channel: { maxClientQueueBytes: 256 * 1024, ringMaxBytes: 2 * 1024 * 1024, maxClientLagMs: 300 } },
    );
    // A raw client that sends its request and then never reads.
    const stuck = connect(server.port, '127.0.0.1');
    stuck.write('GET /live/test.ts HTTP/1.1\r\nHost: x\r\n\r\n');
    stuck.pause();
    const good = read(url);
    await good.status;
    const sent: Buffer[] = [];
    const started = Date.now();
    let seq = 0;
    // ~6.5 MB/s of "media" for 2.5 s, fed by the wall clock 200 ms ahead: far more than the
    // loopback socket buffers hold.
    while (Date.now() - started < 2500) {
      while (seq * 10 < Date.now() - started + 200) {
        const d = Buffer.alloc(chunkBytes, seq & 0xff);
        sent.push(d);
        output.push(seq++, 10, d);
      }
      await sleep(10);
      const st = server.channelStats('test');
      expect(st.ringBytes).toBeLessThanOrEqual(2 * 1024 * 1024 + chunkBytes);
      for (const c of st.clients) expect(c.queuedBytes).toBeLessThanOrEqual(256 * 1024 + chunkBytes);
    }
    const st = server.channelStats('test');
    const slow = st.clients.find((c) => c.liveEdgeJumps > 0);
    expect(slow).toBeDefined();
    expect(slow!.peakQueuedBytes).toBeLessThanOrEqual(256 * 1024 + chunkBytes);
    output.end();
    await good.ended;
    // the client that reads got everything, in order, whatever the other one did
    expect(good.bytes().equals(Buffer.concat(sent))).toBe(true);
    // the reading client finished and left; only the stuck one is still attached
    expect(server.channelStats('test').clients.map((c) => c.liveEdgeJumps > 0)).toEqual([true]);
    stuck.destroy();
  });

  it('answers 404 for an unknown channel and 405 for other methods', async () => {
    const { server } = await setup();
    const r = read(`http://127.0.0.1:${server.port}/live/nope.ts`);
    expect(await r.status).toBe(404);
    await r.ended;
    expect(r.bytes().toString()).toContain('serving: /live/test.ts');
    const status = await new Promise<number>((resolve) => {
      const s = connect(server.port, '127.0.0.1');
      s.write('POST /live/test.ts HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n');
      s.once('data', (d) => {
        resolve(Number(/HTTP\/1\.1 (\d+)/.exec(d.toString())?.[1]));
        s.destroy();
      });
    });
    expect(status).toBe(405);
    await expect(server.addChannel('bad name', new LiveOutput({ schedule: clockFromFirstAsk(100) }))).rejects.toThrow(/must be 1-64/);
    await expect(server.addChannel('test', new LiveOutput({ schedule: clockFromFirstAsk(100) }))).rejects.toThrow(/already served/);
    await expect(server.addChannel('rec', new LiveOutput({ schedule: clockFromFirstAsk(100) }), { recordFile: join(dir, 'no/such/dir/x.ts') })).rejects.toThrow(
      /cannot record to .*x\.ts: ENOENT/,
    );
  });
});
