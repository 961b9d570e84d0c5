// The web remote's security pieces on their own: owner credential (scrypt, file, mode), setup code,
// sessions, CSRF comparison, login rate limiting, Host/Origin checks, method policy, bind addresses.
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LoginLimiter } from '../../src/web/login-limiter.js';
import { needOf, permission } from '../../src/web/method-policy.js';
import { hashPassword, OWNER_FILE, OwnerCredential, passwordProblem, readCredential, verifyPassword, writeCredential } from '../../src/web/owner-credential.js';
import { allowedHostNames, hostAllowed, originAllowed } from '../../src/web/request-guard.js';
import { csrfMatches, readCookie, sessionCookie, SessionStore } from '../../src/web/sessions.js';
import { makeSetupCode, SetupCode } from '../../src/web/setup-code.js';
import { chooseWebAddresses, isPrivateIPv4 } from '../../src/web/web-addresses.js';
import { classifyInterfaces, type IfaceFacts } from '../../src/platform/interface-roles.js';

const FAST = { N: 1024, r: 8, p: 1 };

describe('owner credential', () => {
  it('stores a scrypt hash (never the password) with mode 600 and verifies only the right password', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sd-web-'));
    const cred = await hashPassword('correct horse battery', FAST);
    const path = writeCredential(dir, cred);
    expect(path).toBe(join(dir, OWNER_FILE));
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const text = readFileSync(path, 'utf8');
    expect(text).not.toContain('correct horse');
    const back = readCredential(dir);
    expect(back?.kdf).toBe('scrypt');
    expect(await verifyPassword('correct horse battery', back!)).toBe(true);
    expect(await verifyPassword('correct horse batterY', back!)).toBe(false);
    expect(await verifyPassword('', back!)).toBe(false);
  });

  it('has no default password: nothing is set until someone sets it; weak passwords are refused', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sd-web-'));
    const owner = new OwnerCredential(dir);
    expect(owner.isSet()).toBe(false);
    expect(await owner.verify('')).toBeUndefined();
    expect(await owner.verify('admin')).toBeUndefined();
    expect(passwordProblem('short')).toMatch(/at least 8/);
    expect(passwordProblem(42)).toMatch(/text/);
    expect(passwordProblem('x'.repeat(2000))).toMatch(/at most/);
    await expect(hashPassword('short')).rejects.toThrow(/at least 8/);
  });

  it('sees a password set by another process, and a new one gives a new credential id', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sd-web-'));
    const owner = new OwnerCredential(dir);
    writeCredential(dir, await hashPassword('first password', FAST));
    const id1 = await owner.verify('first password');
    expect(id1).toBeTruthy();
    await new Promise((r) => setTimeout(r, 20));
    writeCredential(dir, await hashPassword('second password', FAST));
    expect(await owner.verify('first password')).toBeUndefined();
    const id2 = await owner.verify('second password');
    expect(id2).toBeTruthy();
    expect(id2).not.toBe(id1);
  });

  it('a damaged credential file counts as set (nobody gets in) and names the fix', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sd-web-'));
    writeFileSync(join(dir, OWNER_FILE), '{"kdf":"plain","password":"x"}');
    expect(() => readCredential(dir)).toThrow(/superdist web set-password/);
    expect(new OwnerCredential(dir).isSet()).toBe(true);
  });
});

describe('setup code', () => {
  it('is 12 unambiguous characters, matches case- and dash-insensitively, and dies when consumed', () => {
    const code = makeSetupCode();
    expect(code).toMatch(/^[A-HJKMNP-Z2-9]{4}-[A-HJKMNP-Z2-9]{4}-[A-HJKMNP-Z2-9]{4}$/);
    const s = new SetupCode(code);
    expect(s.matches(code.toLowerCase().replace(/-/g, ' '))).toBe(true);
    expect(s.matches('AAAA-AAAA-AAAA')).toBe(false);
    expect(s.matches(undefined)).toBe(false);
    s.consume();
    expect(s.active).toBe(false);
    expect(s.matches(code)).toBe(false);
  });
});

describe('sessions and CSRF', () => {
  it('random tokens, idle expiry, oldest dropped beyond the cap, owners of an old password revoked', () => {
    let now = 0;
    const store = new SessionStore({ now: () => now, idleMs: 1000, maxSessions: 3 });
    const a = store.create('viewer');
    expect(a.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(a.csrf).not.toBe(a.token);
    now = 900;
    expect(store.get(a.token)?.role).toBe('viewer');
    now = 1800;
    expect(store.get(a.token)).toBeDefined(); // used at 900: still alive
    now = 2900;
    expect(store.get(a.token)).toBeUndefined();
    const s = [store.create('owner', 'c1'), store.create('viewer'), store.create('owner', 'c2'), store.create('viewer')];
    expect(store.size).toBe(3);
    expect(store.get(s[1]!.token)).toBeUndefined(); // the oldest viewer went, not the older owner
    // A flood of visitors never pushes the owners out.
    for (let i = 0; i < 10; i++) store.create('viewer');
    expect(store.get(s[0]!.token)?.role).toBe('owner');
    expect(store.revokeOwnersExcept('c2')).toBe(1);
    expect(store.get(s[0]!.token)).toBeUndefined();
    expect(store.get(s[2]!.token)?.role).toBe('owner');
  });

  it('compares CSRF tokens exactly and reads the session cookie', () => {
    expect(csrfMatches('abc', 'abc')).toBe(true);
    expect(csrfMatches('abd', 'abc')).toBe(false);
    expect(csrfMatches('ab', 'abc')).toBe(false);
    expect(csrfMatches(undefined, 'abc')).toBe(false);
    expect(readCookie('x=1; sd_session=tok; y=2', 'sd_session')).toBe('tok');
    expect(readCookie(undefined, 'sd_session')).toBeUndefined();
    const c = sessionCookie('tok', 60);
    expect(c).toContain('HttpOnly');
    expect(c).toContain('SameSite=Strict');
    expect(c).toContain('Path=/');
  });
});

describe('login rate limiting', () => {
  it('locks a client out after 5 failures, doubling, and caps failures from everyone per minute', () => {
    let now = 0;
    const l = new LoginLimiter({ now: () => now, freeFailures: 5, lockMs: 30_000, globalPerMinute: 12 });
    for (let i = 0; i < 4; i++) l.failure('a');
    expect(l.check('a').allowed).toBe(true);
    l.failure('a');
    expect(l.check('a')).toEqual({ allowed: false, retryAfterS: 30 });
    expect(l.check('b').allowed).toBe(true);
    now = 30_000;
    expect(l.check('a').allowed).toBe(true);
    l.failure('a');
    expect(l.check('a')).toEqual({ allowed: false, retryAfterS: 60 });
    l.success('b');
    for (let i = 0; i < 6; i++) l.failure(`c${i}`);
    // 12 failures in the last minute from everyone: even a new client waits.
    expect(l.check('fresh').allowed).toBe(false);
    now = 200_000;
    expect(l.check('fresh').allowed).toBe(true);
  });
});

describe('Host and Origin checks', () => {
  const names = allowedHostNames('tvbox', ['box.home.arpa']);
  it('answers to IP literals, localhost and its own names only (DNS rebinding)', () => {
    expect(hostAllowed('192.168.1.20:8080', names)).toBe(true);
    expect(hostAllowed('[fe80::1]:8080', names)).toBe(true);
    expect(hostAllowed('localhost:8080', names)).toBe(true);
    expect(hostAllowed('tvbox.local', names)).toBe(true);
    expect(hostAllowed('TVBOX:8080', names)).toBe(true);
    expect(hostAllowed('box.home.arpa', names)).toBe(true);
    expect(hostAllowed('evil.example:8080', names)).toBe(false);
    expect(hostAllowed(undefined, names)).toBe(false);
  });
  it('state-changing requests need an Origin equal to the host', () => {
    expect(originAllowed('http://192.168.1.20:8080', '192.168.1.20:8080')).toBe(true);
    expect(originAllowed('http://evil.example', '192.168.1.20:8080')).toBe(false);
    expect(originAllowed('http://192.168.1.20:8081', '192.168.1.20:8080')).toBe(false);
    expect(originAllowed(undefined, '192.168.1.20:8080')).toBe(false);
    expect(originAllowed('null', '192.168.1.20:8080')).toBe(false);
  });
});

describe('method policy', () => {
  const closed = { viewersMayBrowse: true, viewersMaySwitch: false, viewersMayWatch: true };
  const open = { viewersMayBrowse: true, viewersMaySwitch: true, viewersMayWatch: true };
  it('viewers browse; switching only when allowed; approvals and unknown methods are the owner\'s', () => {
    expect(permission(needOf('status'), 'viewer', closed).ok).toBe(true);
    expect(permission(needOf('play'), 'viewer', closed)).toMatchObject({ ok: false, status: 403 });
    expect(permission(needOf('play'), 'viewer', open).ok).toBe(true);
    expect(permission(needOf('drm.approve'), 'viewer', open)).toMatchObject({ ok: false, status: 403 });
    expect(permission(needOf('some.future.method'), 'viewer', open).ok).toBe(false);
    expect(permission(needOf('drm.approve'), 'owner', closed).ok).toBe(true);
    expect(permission(needOf('status'), 'viewer', { viewersMayBrowse: false, viewersMaySwitch: false, viewersMayWatch: true }).ok).toBe(false);
  });
  it('phones watch when viewers may browse and watch; the owner always may', () => {
    expect(permission('watch', 'viewer', closed).ok).toBe(true);
    expect(permission('watch', 'viewer', { ...closed, viewersMayWatch: false })).toEqual({ ok: false, status: 403, error: 'the owner has turned phone viewing off: log in as the owner' });
    expect(permission('watch', 'viewer', { ...closed, viewersMayBrowse: false })).toMatchObject({ ok: false, error: expect.stringContaining('not allowed viewers to browse') });
    expect(permission('watch', 'owner', { viewersMayBrowse: false, viewersMaySwitch: false, viewersMayWatch: false }).ok).toBe(true);
  });
});

describe('web addresses', () => {
  const iface = (f: Partial<IfaceFacts> & { name: string }): IfaceFacts => ({ kind: 'ethernet', up: true, defaultRoute: false, ...f });
  it('serves loopback, the segment and private LANs; not a modem or public uplink unless web.onUplink', () => {
    expect(isPrivateIPv4('192.168.4.1')).toBe(true);
    expect(isPrivateIPv4('100.64.0.1')).toBe(false);
    const list = [
      iface({ name: 'lo', kind: 'loopback', ipv4: '127.0.0.1' }),
      iface({ name: 'wwan0', kind: 'wwan', ipv4: '10.64.1.2', defaultRoute: true }),
      iface({ name: 'wlan0', kind: 'wifi', wifiMode: 'AP', ipv4: '192.168.4.1' }),
      iface({ name: 'eth0', ipv4: '192.168.1.20' }),
    ];
    const roles = classifyInterfaces(list);
    expect(chooseWebAddresses(list, roles, 8080, false).map((a) => `${a.iface}=${a.host}:${a.port}`)).toEqual(['lo=127.0.0.1:8080', 'wlan0=192.168.4.1:8080', 'eth0=192.168.1.20:8080']);
    expect(chooseWebAddresses(list, roles, 8080, true).map((a) => a.iface)).toContain('wwan0');
    const publicUplink = [iface({ name: 'eth0', ipv4: '203.0.113.7', defaultRoute: true })];
    expect(chooseWebAddresses(publicUplink, classifyInterfaces(publicUplink), 8080, false).map((a) => a.iface)).toEqual(['lo']);
    const homeLan = [iface({ name: 'eth0', ipv4: '192.168.1.30', defaultRoute: true })];
    expect(chooseWebAddresses(homeLan, classifyInterfaces(homeLan), 8080, false).map((a) => a.host)).toEqual(['127.0.0.1', '192.168.1.30']);
  });
});
