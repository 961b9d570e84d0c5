// Registration against a scripted registrar (digest with an AKA challenge first, Service-Route,
// P-Associated-URI) under a virtual clock: success, refresh timing, wrong password, 403, 423,
// timeout and retry, binding lost after a registrar restart, TCP loss, de-registration.
import { describe, expect, it } from 'vitest';
import { computeDigestResponse } from '../../src/ims/digest.js';
import { SipEndpoint } from '../../src/ims/sip-endpoint.js';
import { challengesOf, headerValues, parseNameAddr } from '../../src/ims/sip-headers.js';
import { getHeader, type SipRequest } from '../../src/ims/sip-message.js';
import { refreshDelayMs, SipRegistration, SipRegistrationError, type RegistrationInfo } from '../../src/ims/sip-registration.js';
import { DEFAULT_SIP_TIMERS } from '../../src/ims/sip-timers.js';
import { FakeSipClock, flush, responseTo, transportFactory, type FakeTransport } from './sip-fakes.js';

const REALM = 'ims.test';

/** A registrar like Kamailio's: digest (MD5, qop=auth), bindings with expiry, query support. */
class ScriptedRegistrar {
  bindings = new Map<string, number>();
  nonce = 1;
  mode: 'normal' | 'forbidden' | 'silent' | 'min-expires' = 'normal';
  minExpires = 1800;
  grantMax = 3600;
  registers: SipRequest[] = [];
  constructor(private readonly passwords: Record<string, string>) {}

  handle = (req: SipRequest, t: FakeTransport): void => {
    if (req.method !== 'REGISTER') return;
    this.registers.push(req);
    if (this.mode === 'silent') return;
    const answer = (status: number, reason: string, headers: { name: string; value: string }[] = []) =>
      queueMicrotask(() => t.receive(responseTo(req, status, reason, headers)));
    if (this.mode === 'forbidden') return answer(403, 'Forbidden', [{ name: 'Warning', value: '399 ims.test "roaming not allowed"' }]);
    if (!this.authorised(req)) {
      return answer(401, 'Unauthorized', [
        { name: 'WWW-Authenticate', value: `Digest realm="${REALM}", nonce="aka${this.nonce}", algorithm=AKAv1-MD5, qop="auth"` },
        { name: 'WWW-Authenticate', value: `Digest realm="${REALM}", nonce="n${this.nonce}", qop="auth"` },
      ]);
    }
    const headerExpires = Number(getHeader(req, 'Expires') ?? '3600');
    for (const value of headerValues(req, 'Contact')) {
      const na = parseNameAddr(value)!;
      const expires = Number(na.params.get('expires') ?? headerExpires);
      if (this.mode === 'min-expires' && expires > 0 && expires < this.minExpires) {
        return answer(423, 'Interval Too Brief', [{ name: 'Min-Expires', value: String(this.minExpires) }]);
      }
      if (expires === 0) this.bindings.delete(na.uri);
      else this.bindings.set(na.uri, Math.min(expires, this.grantMax));
    }
    answer(200, 'OK', [
      ...[...this.bindings].map(([uri, e]) => ({ name: 'Contact', value: `<${uri}>;expires=${e}` })),
      { name: 'Service-Route', value: '<sip:orig@scscf.ims.test;lr>' },
      { name: 'P-Associated-URI', value: '<sip:alice@ims.test>, <tel:+15551234>' },
    ]);
  };

  private authorised(req: SipRequest): boolean {
    const auth = getHeader(req, 'Authorization');
    if (!auth) return false;
    const p = challengesOf({ ...req, headers: [{ name: 'WWW-Authenticate', value: auth }] }, 'WWW-Authenticate')[0]!.params;
    const user = p.get('username') ?? '';
    const expected = computeDigestResponse({
      algorithm: 'MD5', username: user, realm: REALM, password: this.passwords[user] ?? '\0', method: 'REGISTER',
      uri: p.get('uri') ?? '', nonce: p.get('nonce') ?? '', cnonce: p.get('cnonce') ?? '', nc: p.get('nc') ?? '', qop: 'auth',
    });
    return p.get('nonce') === `n${this.nonce}` && p.get('response') === expected;
  }
}

function setup(opts: { password?: string; transport?: 'udp' | 'tcp'; expiresS?: number; bindingCheckMs?: number } = {}) {
  const clock = new FakeSipClock();
  const f = transportFactory();
  const registrar = new ScriptedRegistrar({ alice: 'secret' });
  let reg: SipRegistration | undefined;
  const endpoint = new SipEndpoint({
    transport: opts.transport ?? 'udp',
    proxy: { host: '192.0.2.1', port: 5060 },
    clock,
    timers: DEFAULT_SIP_TIMERS,
    credentials: { username: 'alice', password: opts.password ?? 'secret' },
    userAgent: 'test',
    createTransport: (n, o, e) => {
      const t = f.create(n, o, e) as FakeTransport;
      t.onSend = registrar.handle;
      return t;
    },
    onClosed: (reason) => reg?.transportLost(reason),
  });
  const events: string[] = [];
  reg = new SipRegistration({
    endpoint,
    clock,
    aor: 'sip:alice@ims.test',
    registrarUri: 'sip:ims.test',
    contactUser: 'alice',
    expiresS: opts.expiresS ?? 600,
    retryMinMs: 1000,
    retryMaxMs: 8000,
    bindingCheckMs: opts.bindingCheckMs ?? 0,
    unregisterTimeoutMs: 2000,
    random: () => 1,
    onRegistered: (info: RegistrationInfo, why) => events.push(`registered ${why} ${info.expiresS}`),
    onFailed: (err, retry) => events.push(`failed ${err.kind} retry ${retry}`),
    onWarning: (m) => events.push(`warning ${m}`),
  });
  return { clock, registrar, reg, endpoint, events, transport: () => f.get() };
}

describe('SipRegistration', () => {
  it('registers with digest MD5 after skipping the AKA challenge, and reads the 200 OK', async () => {
    const { reg, registrar } = setup();
    const info = await reg.registerOnce();
    expect(registrar.registers).toHaveLength(2); // challenge + authenticated
    const [first, second] = registrar.registers as [SipRequest, SipRequest];
    expect(getHeader(first, 'Authorization')).toBeUndefined();
    expect(getHeader(second, 'CSeq')).toBe('2 REGISTER');
    expect(getHeader(second, 'Call-ID')).toBe(getHeader(first, 'Call-ID'));
    expect(getHeader(second, 'Authorization')).toMatch(/nonce="n1".*algorithm=MD5/);
    expect(getHeader(second, 'Contact')).toBe('<sip:alice@192.0.2.10:5099>');
    expect(headerValues(second, 'Supported')).toContain('path');
    expect(info).toMatchObject({
      aor: 'sip:alice@ims.test',
      contact: 'sip:alice@192.0.2.10:5099',
      expiresS: 600,
      serviceRoute: ['<sip:orig@scscf.ims.test;lr>'],
      associatedUris: ['<sip:alice@ims.test>', '<tel:+15551234>'],
    });
    expect(reg.state).toBe('registered');
  });

  it('refreshes at half time (<= 1200 s) or 600 s before expiry, reusing the nonce with nc+1', async () => {
    expect(refreshDelayMs(600)).toBe(300_000);
    expect(refreshDelayMs(3600)).toBe(3_000_000);
    const { reg, registrar, clock, events } = setup({ expiresS: 600 });
    reg.start();
    clock.advance(0);
    await flush(40);
    expect(events).toEqual(['registered initial 600']);
    clock.advance(299_999);
    await flush(40);
    expect(registrar.registers).toHaveLength(2);
    clock.advance(1);
    await flush(40);
    expect(events).toEqual(['registered initial 600', 'registered refresh 600']);
    expect(registrar.registers).toHaveLength(3); // preemptive credentials: no new challenge
    expect(getHeader(registrar.registers[2]!, 'Authorization')).toMatch(/nc=00000002/);
  });

  it('reports a wrong password clearly', async () => {
    const { reg } = setup({ password: 'wrong' });
    const err = await reg.registerOnce().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SipRegistrationError);
    expect((err as SipRegistrationError).kind).toBe('auth-rejected');
    expect((err as Error).message).toMatch(
      /registrar 192\.0\.2\.1:5060 over UDP rejected the credentials for sip:alice@ims\.test \(realm "ims\.test"\): 401 Unauthorized again after digest authentication — wrong user name or password/,
    );
    expect(reg.snapshot()).toMatchObject({ state: 'failed', failures: 1, lastErrorKind: 'auth-rejected' });
  });

  it('reports 403 with the Warning text, and follows 423 Min-Expires', async () => {
    const a = setup();
    a.registrar.mode = 'forbidden';
    await expect(a.reg.registerOnce()).rejects.toThrow(/refused the registration of sip:alice@ims\.test: 403 Forbidden \(Warning: 399 ims\.test "roaming not allowed"\)/);

    const b = setup({ expiresS: 600 });
    b.registrar.mode = 'min-expires';
    const info = await b.reg.registerOnce();
    expect(info.expiresS).toBe(1800);
    expect(b.registrar.registers.map((r) => getHeader(r, 'Expires'))).toEqual(['600', '600', '1800']);
  });

  it('times out on a silent registrar, retries with backoff, and registers once it answers', async () => {
    const { reg, registrar, clock, events } = setup();
    registrar.mode = 'silent';
    reg.start();
    clock.advance(0);
    await flush(20);
    clock.advance(32_000);
    await flush(20);
    expect(events).toEqual(['failed timeout retry 1000']);
    expect(reg.snapshot().lastError).toMatch(/no answer to REGISTER from 192\.0\.2\.1:5060 over UDP within 32000 ms/);
    registrar.mode = 'normal';
    clock.advance(1000);
    await flush(40);
    expect(events).toEqual(['failed timeout retry 1000', 'registered initial 600']);
  });

  it('registers again when a binding query shows the registrar forgot us (restart)', async () => {
    const { reg, registrar, clock, events } = setup({ bindingCheckMs: 5000 });
    reg.start();
    clock.advance(0);
    await flush(40);
    clock.advance(5000);
    await flush(40);
    const query = registrar.registers[2]!;
    expect(getHeader(query, 'Contact')).toBeUndefined(); // RFC 3261 §10.2.3 query
    expect(events).toEqual(['registered initial 600']);
    registrar.bindings.clear();
    registrar.nonce++; // a restarted core has new nonces
    clock.advance(5000);
    await flush(40);
    clock.advance(0);
    await flush(80);
    expect(events.some((e) => /no longer holds our binding/.test(e))).toBe(true);
    expect(events.at(-1)).toBe('registered recovery 600');
    expect(registrar.bindings.size).toBe(1);
    expect(reg.snapshot()).toMatchObject({ state: 'registered', bindingsLost: 1, registrations: 2 });
  });

  it('registers again at once when the TCP connection drops', async () => {
    const { reg, clock, events, transport, registrar } = setup({ transport: 'tcp' });
    reg.start();
    clock.advance(0);
    await flush(40);
    expect(getHeader(transport().requests('REGISTER')[0]!, 'Contact')).toBe('<sip:alice@192.0.2.10:5099;transport=tcp>');
    transport().isOpen = false;
    transport().events.onClosed('reset by peer');
    clock.advance(0);
    await flush(40);
    expect(events.filter((e) => e.startsWith('registered'))).toEqual(['registered initial 600', 'registered recovery 600']);
    expect(events.some((e) => /connection to the registrar lost \(reset by peer\)/.test(e))).toBe(true);
    // The new connection has a new port: the old binding is removed in the same REGISTER.
    const again = transport().requests('REGISTER').at(-1)!;
    expect(again.headers.filter((h) => h.name === 'Contact').map((h) => h.value)).toEqual([
      '<sip:alice@192.0.2.10:5100;transport=tcp>',
      '<sip:alice@192.0.2.10:5099;transport=tcp>;expires=0',
    ]);
    expect([...registrar.bindings.keys()]).toEqual(['sip:alice@192.0.2.10:5100;transport=tcp']);
  });

  it('de-registers on stop with Expires: 0', async () => {
    const { reg, registrar, clock } = setup();
    reg.start();
    clock.advance(0);
    await flush(40);
    expect(registrar.bindings.size).toBe(1);
    await reg.stop();
    const last = registrar.registers.at(-1)!;
    expect(getHeader(last, 'Expires')).toBe('0');
    expect(registrar.bindings.size).toBe(0);
    expect(reg.state).toBe('unregistered');
    clock.advance(10_000_000);
    await flush(20);
    expect(registrar.registers.at(-1)).toBe(last); // no refresh after stop
  });
});
