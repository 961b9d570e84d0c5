// The page over HTTPS: the box's own certificate (made, kept, replaced when expired, garbled,
// unreadable or missing an address, its file mode tightened), and one port that speaks HTTPS and
// plain HTTP, where plain HTTP only redirects (or serves viewers) and never carries the owner's login.
import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect as tlsConnect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { webConfigSchema } from '../../src/config/web-config.js';
import { CERT_VALID_DAYS, loadOrCreateBoxCertificate, TLS_DIR, type BoxCertificate } from '../../src/web/box-certificate.js';
import { hashPassword, writeCredential } from '../../src/web/owner-credential.js';
import { plainHttpAnswer } from '../../src/web/plain-http.js';
import { WebServer } from '../../src/web/web-server.js';

const DAY = 86_400_000;
const opts = { dnsNames: ['box', 'box.local'], addresses: ['10.0.0.7', '0.0.0.0'] };
const stateDir = () => mkdtempSync(join(tmpdir(), 'sd-tls-'));
const mode = (p: string) => statSync(p).mode & 0o777;

describe("the box's web certificate", () => {
  it('is made at first start: self-signed ECDSA, naming the box, in 0600 files in a 0700 directory; kept after', () => {
    const dir = stateDir();
    const c = loadOrCreateBoxCertificate(dir, opts);
    expect(c.warnings).toEqual([]);
    const x = new X509Certificate(c.certPem);
    expect(x.subjectAltName).toBe('DNS:box, DNS:box.local, DNS:localhost, IP Address:127.0.0.1, IP Address:10.0.0.7');
    expect(x.verify(x.publicKey)).toBe(true);
    expect(x.checkPrivateKey(createPrivateKey(c.keyPem))).toBe(true);
    expect(x.ca).toBe(false);
    expect(c.fingerprint).toBe(x.fingerprint256);
    expect(c.spkiSha256).toBe(createHash('sha256').update(x.publicKey.export({ type: 'spki', format: 'der' })).digest('base64'));
    expect(Date.parse(c.notAfter) - Date.now()).toBeGreaterThan((CERT_VALID_DAYS - 1) * DAY);
    expect(mode(join(dir, TLS_DIR))).toBe(0o700);
    expect(mode(join(dir, TLS_DIR, 'key.pem'))).toBe(0o600);
    expect(mode(join(dir, TLS_DIR, 'cert.pem'))).toBe(0o600);
    const again = loadOrCreateBoxCertificate(dir, opts);
    expect(again.fingerprint).toBe(c.fingerprint);
    expect(again.warnings).toEqual([]);
  });

  it('is replaced, with a warning, when it expires within 30 days, has expired, or misses an address', () => {
    const dir = stateDir();
    const c = loadOrCreateBoxCertificate(dir, opts);
    const soon = loadOrCreateBoxCertificate(dir, { ...opts, now: () => Date.parse(c.notAfter) - 10 * DAY });
    expect(soon.fingerprint).not.toBe(c.fingerprint);
    expect(soon.warnings.join()).toMatch(/cert\.pem: it expires on .*, within 30 days; making a new certificate/);
    const later = Date.parse(soon.notAfter) + DAY;
    const expired = loadOrCreateBoxCertificate(dir, { ...opts, now: () => later });
    expect(expired.warnings.join()).toMatch(/it expired on /);
    expect(Date.parse(expired.notAfter)).toBeGreaterThan(later);
    const moved = loadOrCreateBoxCertificate(dir, { ...opts, now: () => later, addresses: ['10.0.0.8'] });
    expect(moved.warnings.join()).toMatch(/it does not name 10\.0\.0\.8/);
    expect(new X509Certificate(moved.certPem).checkIP('10.0.0.8')).toBe('10.0.0.8');
  });

  it('is replaced, with a warning, when garbled, unreadable or not matching its key', () => {
    const dir = stateDir();
    const certFile = join(dir, TLS_DIR, 'cert.pem');
    loadOrCreateBoxCertificate(dir, opts);
    writeFileSync(certFile, '-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n');
    const garbled = loadOrCreateBoxCertificate(dir, opts);
    expect(garbled.warnings.join()).toMatch(/cert\.pem or its key is not a valid PEM certificate\/key .*making a new one/);
    expect(() => new X509Certificate(readFileSync(certFile))).not.toThrow();

    rmSync(certFile);
    mkdirSync(certFile); // reading it fails (EISDIR), as an unreadable file would
    const unreadable = loadOrCreateBoxCertificate(dir, opts);
    expect(unreadable.warnings.join()).toMatch(/cannot read the web certificate or key in .* \(EISDIR\); making a new one/);
    expect(statSync(certFile).isFile()).toBe(true);

    const other = loadOrCreateBoxCertificate(stateDir(), opts);
    writeFileSync(certFile, other.certPem);
    const mismatched = loadOrCreateBoxCertificate(dir, opts);
    expect(mismatched.warnings.join()).toMatch(/it does not match key\.pem/);
    expect(mismatched.fingerprint).not.toBe(other.fingerprint);
  });

  it('a key or certificate readable by others is set back to 0600, with a warning naming the file', () => {
    const dir = stateDir();
    const c = loadOrCreateBoxCertificate(dir, opts);
    chmodSync(join(dir, TLS_DIR, 'key.pem'), 0o644);
    chmodSync(join(dir, TLS_DIR), 0o755);
    const fixed = loadOrCreateBoxCertificate(dir, opts);
    expect(fixed.fingerprint).toBe(c.fingerprint);
    expect(fixed.warnings).toEqual([`${join(dir, TLS_DIR)} had mode 0755; set to 0700`, `${join(dir, TLS_DIR, 'key.pem')} had mode 0644; set to 0600`]);
    expect(mode(join(dir, TLS_DIR, 'key.pem'))).toBe(0o600);
  });
});

describe('plain HTTP beside HTTPS', () => {
  const base = { host: 'box.local:8080', hostAllowed: true, ownerSession: false };
  it('redirect: page loads go to HTTPS, everything else is refused; a foreign Host gets no redirect', () => {
    expect(plainHttpAnswer('redirect', { ...base, method: 'GET', url: '/hls/x/index.m3u8?a=1' })?.answer).toEqual({ status: 308, body: { redirect: 'https://box.local:8080/hls/x/index.m3u8?a=1' }, headers: { Location: 'https://box.local:8080/hls/x/index.m3u8?a=1' } });
    expect(plainHttpAnswer('redirect', { ...base, method: 'POST', url: '/api/login' })?.answer.status).toBe(403);
    expect(plainHttpAnswer('redirect', { ...base, method: 'GET', url: '/', hostAllowed: false })?.answer.status).toBe(421);
  });
  it("viewer: the viewer's page and calls are served, the owner's login, setup and settings are not; an owner cookie ends", () => {
    expect(plainHttpAnswer('viewer', { ...base, method: 'GET', url: '/' })).toBeUndefined();
    expect(plainHttpAnswer('viewer', { ...base, method: 'POST', url: '/api/call' })).toBeUndefined();
    for (const url of ['/api/login', '/api/setup', '/api/settings']) {
      expect(plainHttpAnswer('viewer', { ...base, method: 'POST', url })?.answer).toEqual({ status: 403, body: { error: 'the owner logs in over HTTPS only: open https://box.local:8080/' } });
    }
    expect(plainHttpAnswer('viewer', { ...base, method: 'GET', url: '/', ownerSession: true })).toMatchObject({ burnSession: true, answer: { status: 403 } });
  });
});

describe('the web server on one port for HTTPS and plain HTTP', () => {
  const servers: WebServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  async function start(plainHttp: 'redirect' | 'viewer'): Promise<{ port: number; cert: BoxCertificate }> {
    const dir = stateDir();
    writeCredential(dir, await hashPassword('owner pass 1', { N: 1024, r: 8, p: 1 }));
    const cert = loadOrCreateBoxCertificate(dir, { dnsNames: ['box'], addresses: ['127.0.0.1'] });
    const log = pino({ level: 'silent' }, new Writable({ write: (_c, _e, cb) => cb() }));
    const web = new WebServer({ config: webConfigSchema.parse({}), addresses: [{ host: '127.0.0.1', port: 0 }], handlers: {}, stateDir: dir, log, hostname: 'box', tls: cert, plainHttp });
    servers.push(web);
    await web.listen();
    expect(web.status().urls[0]).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/$/);
    expect(web.status().https).toMatchObject({ fingerprint: cert.fingerprint, plainHttp });
    return { port: Number(new URL(web.status().urls[0]!).port), cert };
  }

  type Answer = { status: number; headers: Record<string, string | string[] | undefined>; body: string };
  function call(secure: boolean, port: number, ca: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const data = body === undefined ? undefined : JSON.stringify(body);
      const o = { host: '127.0.0.1', port, method, path, headers: { ...headers, ...(data ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data) } : {}) } };
      const req = secure ? httpsRequest({ ...o, ca }) : httpRequest(o);
      req.on('response', (res) => {
        let b = '';
        res.on('data', (d: Buffer) => (b += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: b }));
      });
      req.on('error', reject);
      req.end(data);
    });
  }

  it('HTTPS: HSTS and Secure cookies, the owner logs in; plain HTTP on the same port redirects and refuses the login', async () => {
    const { port, cert } = await start('redirect');
    const s = await call(true, port, cert.certPem, 'GET', '/api/session');
    expect(s.status).toBe(200);
    expect(s.headers['strict-transport-security']).toBe('max-age=31536000');
    expect(String(s.headers['set-cookie'])).toMatch(/^sd_session=[^;]+; Path=\/; HttpOnly; SameSite=Strict; Max-Age=\d+; Secure$/);
    const cookie = String(s.headers['set-cookie']).split(';')[0]!;
    const csrf = (JSON.parse(s.body) as { csrf: string }).csrf;
    const origin = `https://127.0.0.1:${port}`;
    const login = await call(true, port, cert.certPem, 'POST', '/api/login', { password: 'owner pass 1' }, { Cookie: cookie, Origin: origin, 'X-CSRF-Token': csrf, Host: `127.0.0.1:${port}` });
    expect(login.status, login.body).toBe(200);
    const ownerCookie = String(login.headers['set-cookie']).split(';')[0]!;

    const page = await call(false, port, '', 'GET', '/index.html?x=1');
    expect(page.status).toBe(308);
    expect(page.headers.location).toBe(`https://127.0.0.1:${port}/index.html?x=1`);
    expect(page.headers['strict-transport-security']).toBeUndefined();
    const plainLogin = await call(false, port, '', 'POST', '/api/login', { password: 'not sent by a browser' }, { Cookie: cookie, Origin: `http://127.0.0.1:${port}`, 'X-CSRF-Token': csrf });
    expect(plainLogin.status).toBe(403);
    expect(JSON.parse(plainLogin.body)).toEqual({ error: `plain HTTP is refused: use https://127.0.0.1:${port}/` });

    // An owner cookie seen over plain HTTP ends: it no longer works over HTTPS either.
    const leaked = await call(false, port, '', 'GET', '/api/session', undefined, { Cookie: ownerCookie });
    expect(leaked.status).toBe(403);
    const after = await call(true, port, cert.certPem, 'GET', '/api/session', undefined, { Cookie: ownerCookie });
    expect((JSON.parse(after.body) as { role: string }).role).toBe('viewer');
  });

  it('a renewed certificate is served from the next handshake, and status names it', async () => {
    const dir = stateDir();
    const first = loadOrCreateBoxCertificate(dir, { dnsNames: ['box'], addresses: ['127.0.0.1'] });
    const second = loadOrCreateBoxCertificate(stateDir(), { dnsNames: ['box'], addresses: ['127.0.0.1'] });
    const log = pino({ level: 'silent' }, new Writable({ write: (_c, _e, cb) => cb() }));
    const web = new WebServer({ config: webConfigSchema.parse({}), addresses: [{ host: '127.0.0.1', port: 0 }], handlers: {}, stateDir: dir, log, tls: first, recheckTls: () => second, tlsCheckMs: 50 });
    servers.push(web);
    await web.listen();
    const port = Number(new URL(web.status().urls[0]!).port);
    const presented = () =>
      new Promise<string>((resolve, reject) => {
        const s = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
          resolve(s.getPeerCertificate().fingerprint256);
          s.end();
        });
        s.on('error', reject);
      });
    await expect.poll(presented, { timeout: 3000 }).toBe(second.fingerprint);
    expect(web.status().https?.fingerprint).toBe(second.fingerprint);
    expect(first.fingerprint).not.toBe(second.fingerprint);
  });

  it("plainHttp viewer: the viewer's page over HTTP names the HTTPS address; the owner's login is refused there", async () => {
    const { port } = await start('viewer');
    const s = await call(false, port, '', 'GET', '/api/session');
    expect(s.status).toBe(200);
    expect(String(s.headers['set-cookie'])).not.toMatch(/Secure/);
    expect(JSON.parse(s.body)).toMatchObject({ role: 'viewer', https: `https://127.0.0.1:${port}/` });
    const cookie = String(s.headers['set-cookie']).split(';')[0]!;
    const csrf = (JSON.parse(s.body) as { csrf: string }).csrf;
    const login = await call(false, port, '', 'POST', '/api/login', { password: 'x' }, { Cookie: cookie, Origin: `http://127.0.0.1:${port}`, 'X-CSRF-Token': csrf });
    expect(login.status).toBe(403);
    expect(login.body).toContain('the owner logs in over HTTPS only');
    expect((await call(false, port, '', 'GET', '/')).status).toBe(200);
  });
});

describe("the TV's idle screen", () => {
  it("shows the page's address and the certificate's fingerprint in two rows", async () => {
    const { idleLines } = await import('../../src/player/idle-screen.js');
    const f = 'AC:6E:8E:52:83:AF:DF:A7:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:01:02:03:04:05:06:07:08';
    const lines = idleLines({ name: 'Bar box', addresses: ['10.0.0.7 (wlan0)'], channels: [], web: { url: 'https://10.0.0.7:8080/', fingerprint: f } });
    expect(lines.slice(-3)).toEqual(['Web page: https://10.0.0.7:8080/', `Certificate SHA-256: ${f.slice(0, 47)}`, f.slice(48)]);
    expect(`${lines.at(-2)!.slice(-47)}:${lines.at(-1)}`).toBe(f);
  });
});
