// The web remote over real HTTP on loopback: the page from memory with its security headers, the
// JSON API dispatching to the control handlers object, CSRF/Origin/Host checks, owner login with rate
// limiting, the first-boot setup code, viewer permissions, server-sent events.
import { mkdtempSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { webConfigSchema } from '../../src/config/web-config.js';
import type { ControlHandler } from '../../src/control/control-server.js';
import { hashPassword, writeCredential } from '../../src/web/owner-credential.js';
import { WebServer } from '../../src/web/web-server.js';

const servers: WebServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

function fakeStatus(n: number) {
  return {
    node: { id: 'n1', role: 'node', name: 'tv', version: 't', contact: '127.0.0.1:1', tracker: '', uptimeS: n },
    contents: [{ id: 'live-x', kind: 'live', role: 'viewer', partners: 2, partnerIds: [], chunksDue: n * 2, chunksOnTime: n * 2, watching: { contentId: 'live-x', name: 'alpha' } }],
    members: 3,
    memory: { totalRamBytes: 0, budgetBytes: 1000, bufferBytes: 100, rssBytes: 5 },
    net: { bytesIn: n * 1000, bytesOut: n * 500 },
    engine: {},
  };
}

interface Started {
  web: WebServer;
  base: string;
  calls: Array<[string, unknown]>;
  logs: string[];
  handlers: Record<string, ControlHandler>;
}

async function start(opts: { password?: string; drm?: boolean; config?: Record<string, unknown> } = {}): Promise<Started> {
  const stateDir = mkdtempSync(join(tmpdir(), 'sd-websrv-'));
  if (opts.password) writeCredential(stateDir, await hashPassword(opts.password, { N: 1024, r: 8, p: 1 }));
  const calls: Array<[string, unknown]> = [];
  let n = 0;
  const handlers: Record<string, ControlHandler> = {
    status: () => fakeStatus(++n),
    channels: () => ({ channels: [{ contentId: 'live-x', name: 'alpha', playing: true }], playing: { contentId: 'live-x', name: 'alpha' } }),
    play: (p) => {
      calls.push(['play', p]);
      if (p.channel === 'nope') throw new Error('no live content named "nope"');
      return { playing: { contentId: 'live-y', name: p.channel } };
    },
    stop: () => ({ stopped: 'live-x' }),
  };
  if (opts.drm) {
    handlers['drm.pending'] = () => [{ id: 'r1', deviceId: 'dev-1', name: 'kitchen tv', requestedAt: '2026-11-22T01:00:00Z' }];
    handlers['drm.approve'] = (p) => {
      calls.push(['drm.approve', p]);
      return { approved: p.id };
    };
  }
  const logs: string[] = [];
  const log = pino({ level: 'info' }, new Writable({ write: (c, _e, cb) => (logs.push(String(c)), cb()) }));
  const web = new WebServer({ config: webConfigSchema.parse(opts.config ?? {}), addresses: [{ host: '127.0.0.1', port: 0 }], handlers, stateDir, log, sampleMs: 100, hostname: 'tvbox' });
  await web.listen();
  servers.push(web);
  return { web, base: web.status().urls[0]!.replace(/\/$/, ''), calls, logs, handlers };
}

/** fetch() sets Host itself: a DNS-rebinding page's request is made with node:http. */
function statusWithHost(url: string, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers: { Host: host } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

/** A browser-like client: keeps the cookie, sends Origin and the CSRF token. */
class Client {
  cookie = '';
  csrf = '';
  constructor(private readonly base: string) {}
  async get(path: string, headers: Record<string, string> = {}): Promise<Response> {
    const r = await fetch(this.base + path, { headers: { ...(this.cookie ? { Cookie: this.cookie } : {}), ...headers } });
    this.keep(r);
    return r;
  }
  async session(): Promise<Record<string, unknown>> {
    const body = (await (await this.get('/api/session')).json()) as Record<string, unknown>;
    this.csrf = body.csrf as string;
    return body;
  }
  async post(path: string, body: unknown, over: Record<string, string | undefined> = {}): Promise<{ status: number; body: Record<string, unknown> }> {
    const headers: Record<string, string> = {};
    const base: Record<string, string | undefined> = { Origin: this.base, 'Content-Type': 'application/json', 'X-CSRF-Token': this.csrf, Cookie: this.cookie || undefined, ...over };
    for (const [k, v] of Object.entries(base)) if (v !== undefined) headers[k] = v;
    const r = await fetch(this.base + path, { method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body) });
    this.keep(r);
    const b = (await r.json()) as Record<string, unknown>;
    if (path === '/api/login' || path === '/api/setup') if (typeof b.csrf === 'string') this.csrf = b.csrf;
    return { status: r.status, body: b };
  }
  call(method: string, params: Record<string, unknown> = {}) {
    return this.post('/api/call', { method, params });
  }
  private keep(r: Response): void {
    const c = r.headers.get('set-cookie');
    if (c) this.cookie = c.split(';')[0]!;
  }
}

describe('web remote over HTTP', () => {
  it('serves the page from memory with a strict CSP, refuses foreign host names', async () => {
    const { base } = await start();
    const page = await fetch(`${base}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    const html = await page.text();
    expect(html).toContain('<canvas id="chart"');
    expect(html).not.toMatch(/https?:\/\//); // nothing from a CDN
    const js = await fetch(`${base}/app.js`);
    expect(js.headers.get('content-type')).toContain('javascript');
    expect(await js.text()).toContain("'/api/call'");
    expect((await fetch(`${base}/nope.js`)).status).toBe(404);
    expect(await statusWithHost(`${base}/`, 'evil.example')).toBe(421);
    expect(await statusWithHost(`${base}/api/session`, 'evil.example:8080')).toBe(421);
    expect(await statusWithHost(`${base}/`, 'tvbox.local:8080')).toBe(200);
  });

  it('dispatches /api/call to the same handlers object, with CSRF, Origin and JSON required', async () => {
    const s = await start({ password: 'owner password 1' });
    const c = new Client(s.base);
    const info = await c.session();
    expect(info).toMatchObject({ role: 'viewer', ownerSet: true, setupNeeded: false, rights: false });
    expect(info.methods).toEqual(['status', 'channels']);
    expect(c.cookie).toMatch(/^sd_session=/);
    const ch = await c.call('channels');
    expect(ch).toEqual({ status: 200, body: { result: { channels: [{ contentId: 'live-x', name: 'alpha', playing: true }], playing: { contentId: 'live-x', name: 'alpha' } } } });
    // A method added to the handlers object later is reachable (the same object, no copy).
    s.handlers.peers = () => ({ peers: [] });
    expect((await c.call('peers')).body).toEqual({ result: { peers: [] } });
    expect((await c.post('/api/call', { method: 'status' }, { 'X-CSRF-Token': undefined })).status).toBe(403);
    expect((await c.post('/api/call', { method: 'status' }, { 'X-CSRF-Token': 'forged' })).status).toBe(403);
    expect((await c.post('/api/call', { method: 'status' }, { Origin: 'http://evil.example' })).status).toBe(403);
    expect((await c.post('/api/call', { method: 'status' }, { Origin: undefined })).status).toBe(403);
    expect((await c.post('/api/call', 'method=status', { 'Content-Type': 'application/x-www-form-urlencoded' })).status).toBe(415);
    expect((await c.post('/api/call', { method: 'status' }, { Cookie: undefined })).status).toBe(401);
    expect((await c.call('no.such')).status).toBe(404);
    expect((await c.post('/api/call', '{not json')).status).toBe(400);
    expect((await c.post('/api/call', { method: 'x'.repeat(20_000) })).status).toBe(413);
  });

  it('viewers cannot switch or approve (403); the owner can, and can let viewers switch', async () => {
    const s = await start({ password: 'owner password 1', drm: true });
    const viewer = new Client(s.base);
    await viewer.session();
    expect(await viewer.call('play', { channel: 'beta' })).toMatchObject({ status: 403, body: { error: expect.stringMatching(/not allowed viewers to switch/) } });
    expect(await viewer.call('drm.approve', { id: 'r1' })).toMatchObject({ status: 403, body: { error: expect.stringMatching(/only the owner/) } });
    expect((await viewer.call('drm.pending')).status).toBe(403);
    expect((await viewer.post('/api/settings', { viewersMaySwitch: true })).status).toBe(403);
    expect(s.calls).toEqual([]);

    const owner = new Client(s.base);
    await owner.session();
    const viewerCookie = owner.cookie;
    expect((await owner.post('/api/login', { password: 'wrong password' })).status).toBe(401);
    const ok = await owner.post('/api/login', { password: 'owner password 1' });
    expect(ok).toMatchObject({ status: 200, body: { role: 'owner' } });
    expect(owner.cookie).not.toBe(viewerCookie); // a fresh session token at login
    const info = await owner.session();
    expect(info).toMatchObject({ role: 'owner', rights: true });
    expect((await owner.call('drm.pending')).body).toEqual({ result: [{ id: 'r1', deviceId: 'dev-1', name: 'kitchen tv', requestedAt: '2026-11-22T01:00:00Z' }] });
    expect((await owner.call('drm.approve', { id: 'r1' })).status).toBe(200);
    expect((await owner.call('play', { channel: 'beta' })).body).toEqual({ result: { playing: { contentId: 'live-y', name: 'beta' } } });
    expect(await owner.call('play', { channel: 'nope' })).toMatchObject({ status: 400, body: { error: 'no live content named "nope"' } });
    expect((await owner.post('/api/settings', { viewersMaySwitch: 'yes' })).status).toBe(400);
    expect((await owner.post('/api/settings', { viewersMaySwitch: true })).body).toEqual({ settings: { viewersMayBrowse: true, viewersMaySwitch: true, viewersMayWatch: true } });
    expect((await viewer.call('play', { channel: 'gamma' })).status).toBe(200);
    expect((await viewer.call('drm.approve', { id: 'r1' })).status).toBe(403);
    expect(s.calls).toEqual([
      ['drm.approve', { id: 'r1' }],
      ['play', { channel: 'beta' }],
      ['play', { channel: 'nope' }],
      ['play', { channel: 'gamma' }],
    ]);
    // A new password ends the owner's session.
    writeCredential((s.web as unknown as { o: { stateDir: string } }).o.stateDir, await hashPassword('another password', { N: 1024, r: 8, p: 1 }));
    expect((await owner.call('drm.approve', { id: 'r1' })).status).toBe(401);
  });

  it('rate-limits owner logins per client', async () => {
    const s = await start({ password: 'owner password 1' });
    const c = new Client(s.base);
    await c.session();
    for (let i = 0; i < 5; i++) expect((await c.post('/api/login', { password: `guess ${i}` })).status).toBe(401);
    const locked = await c.post('/api/login', { password: 'owner password 1' });
    expect(locked.status).toBe(429);
    expect(locked.body.error).toMatch(/try again in \d+ s/);
  });

  it('first boot: no password, a setup code in the journal lets the first visitor set it, once', async () => {
    const s = await start();
    const line = s.logs.find((l) => l.includes('setup code'));
    const code = JSON.parse(line!).setupCode as string;
    const c = new Client(s.base);
    expect(await c.session()).toMatchObject({ ownerSet: false, setupNeeded: true });
    expect((await c.post('/api/login', { password: 'anything at all' })).status).toBe(409);
    expect((await c.post('/api/setup', { code: 'AAAA-BBBB-CCCC', password: 'my new password' })).status).toBe(401);
    expect((await c.post('/api/setup', { code, password: 'short' })).status).toBe(400);
    expect(await c.post('/api/setup', { code, password: 'my new password' })).toMatchObject({ status: 200, body: { role: 'owner' } });
    expect(await c.session()).toMatchObject({ role: 'owner', ownerSet: true, setupNeeded: false });
    const other = new Client(s.base);
    await other.session();
    expect((await other.post('/api/setup', { code, password: 'takeover password' })).status).toBe(409);
    expect((await other.post('/api/login', { password: 'my new password' })).status).toBe(200);
  });

  it('streams history and status as server-sent events; a viewer is cut off when browsing is closed', async () => {
    const s = await start({ password: 'owner password 1' });
    const viewer = new Client(s.base);
    await viewer.session();
    const res = await viewer.get('/api/events');
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const reader = res.body!.getReader();
    let text = '';
    const dec = new TextDecoder();
    while ((text.match(/event: status/g) ?? []).length < 3) text += dec.decode((await reader.read()).value);
    expect(text).toMatch(/^retry: 2000\nevent: history\ndata: \{"samples":/);
    const statuses = [...text.matchAll(/event: status\ndata: (.*)\n/g)].map((m) => JSON.parse(m[1]!) as { status: { node: { uptimeS: number } }; sample: { inBps: number; continuity: number } | null });
    expect(statuses[2]!.status.node.uptimeS).toBeGreaterThan(statuses[0]!.status.node.uptimeS);
    expect(statuses[2]!.sample!.continuity).toBe(1);
    expect(statuses[2]!.sample!.inBps).toBeGreaterThan(0);
    const owner = new Client(s.base);
    await owner.session();
    await owner.post('/api/login', { password: 'owner password 1' });
    await owner.post('/api/settings', { viewersMayBrowse: false });
    for (;;) {
      const r = await reader.read();
      if (r.done) break;
      text += dec.decode(r.value);
    }
    expect(text).toContain('event: denied');
    expect((await viewer.get('/api/events')).status).toBe(403);
    expect((await viewer.call('status')).status).toBe(403);
    expect((await owner.call('status')).status).toBe(200);
  });
});
