// Phones watching over real HTTP on loopback (/hls/ of the web server): the playlist and the segment
// bytes straight from a chunk buffer, 404 for a channel the box does not receive, 410 for one that
// stopped, web.maxViewers with the message a page shows, the owner's switch, and hls.js served from memory.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { webConfigSchema } from '../../src/config/web-config.js';
import { ChunkBuffer } from '../../src/engine/chunk-buffer.js';
import type { PhoneChannel, PhoneMediaSource } from '../../src/web/hls-routes.js';
import { hashPassword, writeCredential } from '../../src/web/owner-credential.js';
import { WebServer } from '../../src/web/web-server.js';
import { tsWithPts } from '../helpers/ts-chunks.js';

const servers: WebServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

function liveBuffer(): ChunkBuffer {
  const b = new ChunkBuffer({ capacityChunks: 40, maxBytes: 1 << 20, baseId: 100 });
  for (let id = 100; id < 120; id++) b.put({ id, timestampMs: 1_700_000_000_000 + id * 1000, signature: new Uint8Array(64), data: tsWithPts(id * 1000) });
  return b;
}


async function start(config: Record<string, unknown> = {}, password?: string, phoneSlots?: () => number) {
  const stateDir = mkdtempSync(join(tmpdir(), 'sd-phones-'));
  if (password) writeCredential(stateDir, await hashPassword(password, { N: 1024, r: 8, p: 1 }));
  const buffer = liveBuffer();
  const paid = liveBuffer();
  const media: PhoneMediaSource = {
    channel: (name): PhoneChannel | undefined => {
      if (name === 'alpha' || name === 'live-a') return { state: 'live', contentId: 'live-a', name: 'alpha', buffer, chunkMs: 1000, media: () => ({ playable: () => true, bytes: (c) => c.data }) };
      if (name === 'paid') {
        // Chunks 100..119: every odd one encrypted; an approved session gets them "decrypted".
        return {
          state: 'live',
          contentId: 'live-p',
          name: 'paid',
          buffer: paid,
          chunkMs: 1000,
          media: (approved) => ({
            playable: (c) => approved || c.id % 2 === 0,
            bytes: (c) => (c.id % 2 === 0 ? c.data : approved ? tsWithPts(c.id * 1000) : undefined),
          }),
        };
      }
      if (name === 'gone') return { state: 'stopped', contentId: 'live-g', name: 'gone' };
      return undefined;
    },
  };
  const log = pino({ level: 'warn' }, new Writable({ write: (_c, _e, cb) => cb() }));
  const web = new WebServer({ config: webConfigSchema.parse(config), addresses: [{ host: '127.0.0.1', port: 0 }], handlers: {}, stateDir, log, hostname: 'tvbox', media, ...(phoneSlots ? { phoneSlots } : {}) });
  await web.listen();
  servers.push(web);
  return { web, base: web.status().urls[0]!.replace(/\/$/, ''), buffer };
}

const errorOf = async (r: Response): Promise<string | undefined> => ((await r.json()) as { error?: string }).error;

/** A browser: keeps its session cookie and CSRF token. */
class Phone {
  cookie = '';
  csrf = '';
  constructor(private readonly base: string) {}
  async open(): Promise<void> {
    const r = await fetch(`${this.base}/api/session`);
    this.cookie = (r.headers.get('set-cookie') ?? '').split(';')[0]!;
    this.csrf = ((await r.json()) as { csrf: string }).csrf;
  }
  get(path: string): Promise<Response> {
    return fetch(`${this.base}${path}`, { headers: { Cookie: this.cookie } });
  }
  async post(path: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
    const r = await fetch(`${this.base}${path}`, { method: 'POST', headers: { Cookie: this.cookie, Origin: this.base, 'Content-Type': 'application/json', 'X-CSRF-Token': this.csrf }, body: JSON.stringify(body) });
    const c = r.headers.get('set-cookie');
    if (c) this.cookie = c.split(';')[0]!;
    const b = (await r.json()) as Record<string, unknown>;
    if (typeof b.csrf === 'string') this.csrf = b.csrf;
    return { status: r.status, body: b };
  }
}

describe('phones watch over HTTP', () => {
  it('serves the live playlist and each chunk as a segment, as the buffer holds it', async () => {
    const { base, buffer, web } = await start();
    const phone = new Phone(base);
    await phone.open();
    const pl = await phone.get('/hls/alpha/index.m3u8');
    expect(pl.status).toBe(200);
    expect(pl.headers.get('content-type')).toBe('application/vnd.apple.mpegurl');
    const text = await pl.text();
    expect(text).toContain('#EXT-X-MEDIA-SEQUENCE:110');
    expect(text.trim().split('\n').at(-1)).toBe('119.ts');
    const seg = await phone.get('/hls/live-a/115.ts');
    expect(seg.status).toBe(200);
    expect(seg.headers.get('content-type')).toBe('video/mp2t');
    expect(new Uint8Array(await seg.arrayBuffer())).toEqual(buffer.get(115)!.data);
    expect(web.status().phones).toMatchObject({ viewers: 1, maxViewers: 16, perChannel: { alpha: 1 }, playlists: 1, segments: 1, bytes: 188 });
  });

  it('answers 404 for a channel the box does not receive, 410 for one that stopped or a chunk that left the buffer', async () => {
    const { base, buffer } = await start();
    const phone = new Phone(base);
    await phone.open();
    const unknown = await phone.get('/hls/nosuch/index.m3u8');
    expect(unknown.status).toBe(404);
    expect((await errorOf(unknown))).toBe('this box does not receive a channel "nosuch": play it on the TV first');
    const stopped = await phone.get('/hls/gone/index.m3u8');
    expect(stopped.status).toBe(410);
    expect((await errorOf(stopped))).toBe('channel gone stopped on this box');
    expect((await phone.get('/hls/alpha/index.m3u8')).status).toBe(200);
    buffer.advanceTo(105);
    expect((await phone.get('/hls/alpha/101.ts')).status).toBe(410);
    expect((await phone.get('/hls/alpha/500.ts')).status).toBe(404);
    expect((await phone.get('/hls/alpha/../../etc/passwd')).status).toBe(404);
  });

  it('refuses a phone beyond web.maxViewers with a message, serves segments to current viewers only', async () => {
    const { base } = await start({ maxViewers: 1 });
    const first = new Phone(base);
    const second = new Phone(base);
    await first.open();
    await second.open();
    expect((await first.get('/hls/alpha/index.m3u8')).status).toBe(200);
    const full = await second.get('/hls/alpha/index.m3u8');
    expect(full.status).toBe(503);
    expect(full.headers.get('retry-after')).toBe('15');
    expect((await errorOf(full))).toBe('this box already shows 1 phone, the most it allows (web.maxViewers 1); try again when one stops watching');
    expect((await second.get('/hls/alpha/110.ts')).status).toBe(403);
    expect((await first.get('/hls/alpha/index.m3u8')).status).toBe(200);
  });

  it('the owner may turn phone viewing off: a viewer is told so (403)', async () => {
    const { base } = await start({ viewersMayWatch: false });
    const phone = new Phone(base);
    await phone.open();
    const r = await phone.get('/hls/alpha/index.m3u8');
    expect(r.status).toBe(403);
    expect((await errorOf(r))).toBe('the owner has turned phone viewing off: log in as the owner');
  });

  it('a protected channel: preview only until the owner approves the browser session, within the domain\'s room', async () => {
    const { base } = await start({}, 'owner password 1', () => 1);
    const phone = new Phone(base);
    const other = new Phone(base);
    const owner = new Phone(base);
    await Promise.all([phone.open(), other.open(), owner.open()]);
    expect((await owner.post('/api/login', { password: 'owner password 1' })).status).toBe(200);
    const pre = await phone.get('/hls/paid/index.m3u8');
    expect(pre.headers.get('x-superdist-access')).toBe('preview');
    expect((await pre.text()).match(/#EXT-X-GAP/g)).toHaveLength(5); // 110..119: the five odd ones
    expect((await phone.get('/hls/paid/111.ts')).status).toBe(403);
    expect((await phone.get('/hls/paid/112.ts')).status).toBe(200);
    // The phone asks; a viewer cannot see or decide requests; the owner approves.
    const asked = await phone.post('/api/phone/request', { label: 'Android 21:04' });
    expect(asked.body.request).toMatchObject({ label: 'Android 21:04', state: 'pending' });
    const id = (asked.body.request as { id: string }).id;
    expect((await phone.get('/api/phones')).status).toBe(403);
    expect((await phone.post('/api/phones/decide', { id, approve: true })).status).toBe(403);
    expect(((await (await owner.get('/api/phones')).json()) as { requests: unknown[]; slots: number })).toMatchObject({ requests: [{ id, state: 'pending' }], slots: 1 });
    expect((await owner.post('/api/phones/decide', { id, approve: true })).body.request).toMatchObject({ id, state: 'approved' });
    expect(((await (await phone.get('/api/phone')).json()) as { request: { state: string } }).request.state).toBe('approved');
    const full = await phone.get('/hls/paid/index.m3u8');
    expect(full.headers.get('x-superdist-access')).toBe('approved');
    expect(await full.text()).not.toContain('#EXT-X-GAP');
    expect((await phone.get('/hls/paid/111.ts')).status).toBe(200);
    // The domain has room for one phone: a second is refused until the first is revoked.
    const id2 = ((await other.post('/api/phone/request', {})).body.request as { id: string }).id;
    expect(await owner.post('/api/phones/decide', { id: id2, approve: true })).toEqual({ status: 409, body: { error: 'the domain has room for 1 phone and 1 is approved: revoke one first' } });
    expect((await owner.post('/api/phones/decide', { id, approve: false })).status).toBe(200);
    expect((await phone.get('/hls/paid/111.ts')).status).toBe(403);
    expect((await owner.post('/api/phones/decide', { id: id2, approve: true })).status).toBe(200);
  });

  it('serves hls.js from memory, gzip-compressed, and plain to a client that does not take gzip', async () => {
    const { base } = await start();
    const r = await fetch(`${base}/hls.min.js`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-encoding')).toBe('gzip');
    const js = await r.text();
    expect(js.length).toBeGreaterThan(300_000);
    expect(js).toContain('isSupported');
    expect(js.split('\n')[0]).toBe('/*! hls.js 1.7.4 (light build) | Apache License 2.0 | https://github.com/video-dev/hls.js */');
    const { request } = await import('node:http');
    const plain = await new Promise<Buffer>((resolve, reject) => {
      request(`${base}/hls.min.js`, { headers: { 'Accept-Encoding': 'identity' } }, (res) => {
        expect(res.headers['content-encoding']).toBeUndefined();
        const parts: Buffer[] = [];
        res.on('data', (d: Buffer) => parts.push(d));
        res.on('end', () => resolve(Buffer.concat(parts)));
      })
        .on('error', reject)
        .end();
    });
    expect(plain.toString('utf8')).toBe(js);
    expect(() => gunzipSync(plain)).toThrow();
  });
});
