// On-demand HLS of a completed file: the index cuts a real ffmpeg MPEG-TS file at keyframes into
// segments that cover the file exactly, each one a decodable start (PAT first); the VOD playlist;
// and over HTTP: playlist, segment bytes from disk, 409 while downloading, 415 for a non-TS file.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { webConfigSchema } from '../../src/config/web-config.js';
import { parseTsPacket } from '../../src/source/ts-packets.js';
import type { PhoneFile } from '../../src/web/hls-file-routes.js';
import { indexTsFile, vodPlaylist, type VodIndex } from '../../src/web/hls-vod.js';
import { WebServer } from '../../src/web/web-server.js';
import { makeTestStream } from '../support/media.js';

let dir: string;
let movie: string;
let index: VodIndex;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sd-vod-'));
  movie = makeTestStream({ seconds: 12, bitrateKbps: 800, path: join(dir, 'movie.ts') });
  index = await indexTsFile(movie);
}, 60_000);

describe('on-demand index of an MPEG-TS file', () => {
  it('cuts at keyframes about every 4 s; the segments cover the file exactly and each begins with a PAT', () => {
    const file = readFileSync(movie);
    expect(index.segments.length).toBeGreaterThanOrEqual(3);
    expect(index.segments.reduce((n, s) => n + s.length, 0)).toBe(file.length);
    const total = index.segments.reduce((n, s) => n + s.durationMs, 0);
    expect(total).toBeGreaterThan(11_000);
    expect(total).toBeLessThan(13_000);
    for (const s of index.segments.slice(0, -1)) expect(Math.abs(s.durationMs - 4000)).toBeLessThanOrEqual(1000);
    for (const s of index.segments) {
      const bytes = Buffer.concat([s.prefix, file.subarray(s.offset, s.offset + s.length)]);
      expect(parseTsPacket(bytes, 0)?.pid).toBe(0);
    }
  });

  it('writes a VOD playlist that ends', () => {
    const text = vodPlaylist({ segments: [{ offset: 0, length: 188, durationMs: 4000, prefix: new Uint8Array() }, { offset: 188, length: 188, durationMs: 2500, prefix: new Uint8Array() }] });
    expect(text).toBe(['#EXTM3U', '#EXT-X-VERSION:3', '#EXT-X-PLAYLIST-TYPE:VOD', '#EXT-X-TARGETDURATION:4', '#EXT-X-MEDIA-SEQUENCE:0', '#EXTINF:4.000,', '0.ts', '#EXTINF:2.500,', '1.ts', '#EXT-X-ENDLIST', ''].join('\n'));
  });
});

describe('files over HTTP', () => {
  let web: WebServer;
  let base: string;
  const files = new Map<string, PhoneFile>();
  beforeAll(async () => {
    const sdc = join(dir, 'movie.sdc');
    writeFileSync(sdc, Buffer.concat([Buffer.from('SDC1'), Buffer.alloc(2000, 7)]));
    files.set('f-movie', { contentId: 'f-movie', title: 'movie', path: movie, state: 'complete', progress: 1 });
    files.set('f-half', { contentId: 'f-half', title: 'half', path: movie, state: 'downloading', progress: 0.42 });
    files.set('f-sdc', { contentId: 'f-sdc', title: 'paid movie', path: sdc, state: 'complete', progress: 1 });
    const log = pino({ level: 'warn' }, new Writable({ write: (_c, _e, cb) => cb() }));
    web = new WebServer({ config: webConfigSchema.parse({}), addresses: [{ host: '127.0.0.1', port: 0 }], handlers: {}, stateDir: mkdtempSync(join(tmpdir(), 'sd-vodweb-')), log, hostname: 'tvbox', files: { file: (id) => files.get(id) } });
    await web.listen();
    base = web.status().urls[0]!.replace(/\/$/, '');
  });
  afterAll(() => web.close());

  it('serves the playlist and segments from disk; 404 unknown, 409 downloading, 415 not MPEG-TS', async () => {
    const s = await fetch(`${base}/api/session`);
    const cookie = { Cookie: (s.headers.get('set-cookie') ?? '').split(';')[0]! };
    const pl = await fetch(`${base}/hls/file/f-movie/index.m3u8`, { headers: cookie });
    expect(pl.status).toBe(200);
    const text = await pl.text();
    expect(text).toContain('#EXT-X-PLAYLIST-TYPE:VOD');
    expect(text.match(/^\d+\.ts$/gm)).toHaveLength(index.segments.length);
    const seg = index.segments[1]!;
    const got = Buffer.from(await (await fetch(`${base}/hls/file/f-movie/1.ts`, { headers: cookie })).arrayBuffer());
    expect(got.equals(Buffer.concat([seg.prefix, readFileSync(movie).subarray(seg.offset, seg.offset + seg.length)]))).toBe(true);
    const err = async (path: string) => {
      const r = await fetch(`${base}${path}`, { headers: cookie });
      return { status: r.status, error: ((await r.json()) as { error: string }).error };
    };
    expect(await err('/hls/file/nosuch/index.m3u8')).toEqual({ status: 404, error: 'this box has no file "nosuch"' });
    expect(await err('/hls/file/f-half/index.m3u8')).toEqual({ status: 409, error: 'half is still downloading (42 %): it plays once complete' });
    expect(await err('/hls/file/f-sdc/index.m3u8')).toEqual({ status: 415, error: 'paid movie cannot be played in a browser: not an MPEG-TS file (a packaged file plays with superdist drm play, not in a browser)' });
    expect((await err(`/hls/file/f-movie/${index.segments.length}.ts`)).status).toBe(404);
  });
});
