// Tickets (valid / expired / forged / foreign / unknown key / malformed), the tracker's admission
// function on real TrackerEngine joins, the issuer's MESSAGE handling and the client's delivery
// handling, and the signing key file.
import { mkdtempSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_ENGINE_CONFIG } from '../../src/engine/engine-config.js';
import { ErrorCode, type TrackerJoin } from '../../src/protocol/messages.js';
import { TrackerEngine } from '../../src/tracker/tracker-engine.js';
import { parseSipMessage } from '../../src/ims/sip-codec.js';
import type { SipHeader, SipRequest } from '../../src/ims/sip-message.js';
import { createTicketAdmission } from '../../src/ims/ticket-admission.js';
import { TicketClient } from '../../src/ims/ticket-client.js';
import { TicketIssuer } from '../../src/ims/ticket-issuer.js';
import { generateTicketKey, loadOrCreateTicketKey } from '../../src/ims/ticket-keys.js';
import { TICKET_DELIVERY_TYPE, TICKET_REQUEST_TYPE } from '../../src/ims/ticket-messages.js';
import { decodeTicket, signTicket, verifyTicket, type TicketClaims } from '../../src/ims/ticket.js';
import { ManualClock, RecordingTransport } from '../helpers/engine-fakes.js';
import { FakeSipClock, flush } from './sip-fakes.js';

const NOW = 1_800_000_000_000;
const key = generateTicketKey();
const keys = new Map([[key.keyId, key.publicKey]]);
const claims = (over: Partial<TicketClaims> = {}): TicketClaims => ({
  v: 1, kid: key.keyId, tracker: '127.0.0.1:7878', peerId: 'peer-a', sip: 'sip:alice@ims.test', iat: NOW - 1000, exp: NOW + 60_000, ...over,
});

describe('verifyTicket', () => {
  it('accepts a valid ticket of the joining peer', () => {
    const t = signTicket(claims(), key.privateKey);
    expect(t.length).toBeLessThan(400);
    const v = verifyTicket(t, { keys, now: NOW, peerId: 'peer-a', tracker: '127.0.0.1:7878' });
    expect(v).toEqual({ ok: true, claims: claims() });
  });

  it('refuses missing, expired, future, foreign, forged, unknown-key, wrong-tracker and malformed tickets', () => {
    const refusal = (bytes: Uint8Array | undefined, peerId = 'peer-a', tracker?: string) => {
      const v = verifyTicket(bytes, { keys, now: NOW, peerId, ...(tracker ? { tracker } : {}) });
      return v.ok ? 'ok' : `${v.code}: ${v.reason}`;
    };
    expect(refusal(undefined)).toMatch(/^missing: IMS ticket required/);
    expect(refusal(new Uint8Array(0))).toMatch(/^missing/);
    expect(refusal(signTicket(claims({ exp: NOW - 1 }), key.privateKey))).toMatch(/^expired: IMS ticket expired at 2027-01-15T07:59:59\.999Z \(now 2027-01-15T08:00:00\.000Z\): renew it through IMS$/);
    expect(refusal(signTicket(claims({ iat: NOW + 3_600_000 }), key.privateKey))).toMatch(/^not-yet-valid/);
    expect(refusal(signTicket(claims(), key.privateKey), 'peer-b')).toBe('foreign: IMS ticket belongs to peer "peer-a", not to "peer-b"');
    const tampered = signTicket(claims(), key.privateKey);
    const at = Buffer.from(tampered).indexOf('peer-a');
    tampered[at + 5] = 'b'.charCodeAt(0); // claims now say peer-b: the signature no longer matches
    expect(refusal(tampered, 'peer-b')).toMatch(/^forged: IMS ticket signature is invalid/);
    const other = generateTicketKey();
    expect(refusal(signTicket(claims({ kid: other.keyId }), other.privateKey))).toMatch(/^unknown-key: .*another tracker/);
    expect(refusal(signTicket(claims(), other.privateKey))).toMatch(/^forged/); // our kid, someone else's key
    expect(refusal(signTicket(claims(), key.privateKey), 'peer-a', '10.0.0.1:7878')).toMatch(/^wrong-tracker/);
    expect(refusal(new Uint8Array(Buffer.from('garbage'.repeat(20))))).toMatch(/^malformed: malformed IMS ticket: not a superdist ticket/);
    const cut = signTicket(claims(), key.privateKey).subarray(0, 80);
    expect(refusal(cut)).toMatch(/^malformed: malformed IMS ticket: length field/);
  });

  it('decodes without verifying (what a node may read from its own ticket)', () => {
    expect(decodeTicket(signTicket(claims(), key.privateKey)).claims.tracker).toBe('127.0.0.1:7878');
    expect(() => decodeTicket(new Uint8Array(3000))).toThrow(/more than 2048/);
  });
});

describe('ticket admission in a real TrackerEngine', () => {
  function tracker() {
    const clock = new ManualClock(NOW);
    const transport = new RecordingTransport();
    const decisions: string[] = [];
    const admit = createTicketAdmission({
      keys: [{ keyId: key.keyId, publicKey: key.publicKey }],
      clock,
      onDecision: (d) => decisions.push(`${d.peerId} ${d.admitted ? 'admitted' : d.code}`),
    });
    const engine = new TrackerEngine({
      self: { peerId: 'tracker', contact: { host: '127.0.0.1', port: 7878 }, role: 'tracker' },
      clock,
      random: { next: () => 0.5 },
      transport,
      config: DEFAULT_ENGINE_CONFIG,
      admit,
    });
    return { clock, engine, transport, decisions };
  }
  const join = (peerId: string, ticket: Uint8Array): TrackerJoin => ({
    type: 'TrackerJoin', peerId, contentId: 'ch1', contact: { host: '10.0.0.2', port: 7000 }, kind: 'live', title: '', allowRedirect: true, ticket,
  });
  const from = (peerId: string) => ({ peerId, contact: { host: '10.0.0.2', port: 7000 } });

  it('answers a join without ticket, with an expired, a forged or a foreign ticket with AccessDenied, admits a valid one', () => {
    const { engine, transport, decisions, clock } = tracker();
    const good = signTicket(claims(), key.privateKey);
    engine.receive(from('peer-a'), join('peer-a', new Uint8Array(0)));
    engine.receive(from('peer-a'), join('peer-a', signTicket(claims({ exp: NOW - 5 }), key.privateKey)));
    engine.receive(from('peer-b'), join('peer-b', good));
    const forged = Buffer.from(good);
    forged.writeUInt8(forged.readUInt8(forged.length - 1) ^ 0xff, forged.length - 1);
    engine.receive(from('peer-a'), join('peer-a', new Uint8Array(forged)));
    const errors = transport.of('Error');
    expect(errors.map((e) => e.msg.code)).toEqual([ErrorCode.AccessDenied, ErrorCode.AccessDenied, ErrorCode.AccessDenied, ErrorCode.AccessDenied]);
    expect(errors.map((e) => e.msg.message)).toEqual([
      expect.stringMatching(/IMS ticket required/),
      expect.stringMatching(/IMS ticket expired/),
      expect.stringMatching(/belongs to peer "peer-a", not to "peer-b"/),
      expect.stringMatching(/signature is invalid/),
    ]);
    expect(transport.of('TrackerMembers')).toHaveLength(0);
    engine.receive(from('peer-a'), join('peer-a', good));
    expect(transport.of('TrackerMembers', 'peer-a')).toHaveLength(1);
    expect(engine.snapshot().tracker).toMatchObject({ joins: 1, refusedJoins: 4 });
    expect(decisions).toEqual(['peer-a missing', 'peer-a expired', 'peer-b foreign', 'peer-a forged', 'peer-a admitted']);
    // The same ticket is refused once it has expired.
    clock.advance(61_000);
    engine.receive(from('peer-a'), join('peer-a', good));
    expect(transport.of('Error').at(-1)?.msg.message).toMatch(/expired/);
  });
});

function message(headers: SipHeader[], body: object | string): SipRequest {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const head = [
    'MESSAGE sip:superdist@ims.test SIP/2.0',
    'Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKx1',
    'From: <sip:alice@ims.test>;tag=1',
    'To: <sip:superdist@ims.test>',
    'Call-ID: m1',
    'CSeq: 1 MESSAGE',
    ...headers.map((h) => `${h.name}: ${h.value}`),
  ];
  return parseSipMessage(`${head.join('\r\n')}\r\nContent-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`) as SipRequest;
}

describe('TicketIssuer', () => {
  function issuer() {
    const delivered: Array<{ to: string; body: Buffer; type: string }> = [];
    const iss = new TicketIssuer({
      key,
      trackerContact: '127.0.0.1:7878',
      lifetimeMs: 60_000,
      clock: { now: () => NOW },
      deliver: async (to, body, type) => {
        delivered.push({ to, body, type });
        return { kind: 'response', status: 200, reason: 'OK', headers: [], body: Buffer.alloc(0) };
      },
    });
    const answers: string[] = [];
    const respond = (status: number, reason: string, headers: SipHeader[] = []) =>
      answers.push(`${status} ${reason}${headers.length ? ` ${headers.map((h) => `${h.name}: ${h.value}`).join('; ')}` : ''}`);
    return { iss, delivered, answers, respond };
  }

  it('accepts a request (202, no body: RFC 3428) and MESSAGEs a signed ticket to the asserted identity', () => {
    const { iss, delivered, answers, respond } = issuer();
    const req = message([{ name: 'Content-Type', value: TICKET_REQUEST_TYPE }, { name: 'P-Asserted-Identity', value: '<sip:alice@IMS.test>' }], { requestId: 'r1', peerId: 'peer-a' });
    expect(TicketIssuer.isTicketRequest(req)).toBe(true);
    iss.handle(req, respond);
    expect(answers).toEqual(['202 Accepted']);
    expect(delivered).toHaveLength(1);
    expect(delivered[0]).toMatchObject({ to: 'sip:alice@ims.test', type: TICKET_DELIVERY_TYPE });
    const body = JSON.parse(delivered[0]!.body.toString());
    expect(body).toMatchObject({ requestId: 'r1', peerId: 'peer-a', tracker: '127.0.0.1:7878', keyId: key.keyId, expiresAt: NOW + 60_000 });
    const v = verifyTicket(new Uint8Array(Buffer.from(body.ticket, 'base64')), { keys, now: NOW, peerId: 'peer-a' });
    expect(v.ok && v.claims.sip).toBe('sip:alice@ims.test');
    expect(iss.snapshot()).toMatchObject({ requests: 1, issued: 1, refused: 0 });
  });

  it('refuses other media types (415), bad bodies (400) and a peer id bound to another identity (403)', () => {
    const { iss, answers, respond } = issuer();
    iss.handle(message([{ name: 'Content-Type', value: 'text/plain' }], 'hello'), respond);
    iss.handle(message([{ name: 'Content-Type', value: TICKET_REQUEST_TYPE }], '{"requestId":"r1"}'), respond);
    iss.handle(message([{ name: 'Content-Type', value: TICKET_REQUEST_TYPE }], { requestId: 'r2', peerId: 'peer-a' }), respond);
    iss.handle(message([{ name: 'Content-Type', value: TICKET_REQUEST_TYPE }, { name: 'P-Asserted-Identity', value: '<sip:mallory@ims.test>' }], { requestId: 'r3', peerId: 'peer-a' }), respond);
    expect(answers[0]).toMatch(/^415 Unsupported Media Type .*Accept: application\/vnd\.superdist\.ticket-request\+json/);
    expect(answers[1]).toMatch(/^400 Bad Request Warning: 399 superdist "ticket request needs a peerId/);
    expect(answers[2]).toBe('202 Accepted');
    expect(answers[3]).toMatch(/^403 Forbidden Warning: 399 superdist "peer id peer-a is in use by another IMS identity"/);
  });
});

describe('TicketClient deliveries', () => {
  it('takes a ticket from the service only, for its own peer id', () => {
    const clock = new FakeSipClock();
    clock.t = NOW;
    const got: string[] = [];
    const client = new TicketClient({
      endpoint: {} as never,
      clock,
      aor: 'sip:alice@ims.test',
      serviceUri: 'sip:superdist@ims.test',
      routeSet: () => [],
      peerId: 'peer-a',
      deliveryTimeoutMs: 1000,
      renewBeforeMs: 10_000,
      retryMinMs: 100,
      retryMaxMs: 1000,
      onTicket: (t) => got.push(t.claims.peerId),
    });
    const answers: number[] = [];
    const respond = (s: number) => answers.push(s);
    const delivery = (fromUser: string, peerId: string) => {
      const ticket = Buffer.from(signTicket(claims({ peerId }), key.privateKey)).toString('base64');
      const req = message([{ name: 'Content-Type', value: TICKET_DELIVERY_TYPE }], { requestId: 'late', ticket, tracker: 't:1', peerId, keyId: key.keyId, expiresAt: NOW + 60_000 });
      req.headers = req.headers.map((h) => (h.name === 'From' ? { ...h, value: `<sip:${fromUser}@ims.test>;tag=2` } : h));
      return req;
    };
    expect(client.handleDelivery(message([{ name: 'Content-Type', value: 'text/plain' }], 'x'), respond)).toBe(false);
    expect(client.handleDelivery(delivery('mallory', 'peer-a'), respond)).toBe(true);
    expect(client.handleDelivery(delivery('superdist', 'peer-z'), respond)).toBe(true);
    expect(client.handleDelivery(delivery('superdist', 'peer-a'), respond)).toBe(true);
    expect(answers).toEqual([403, 400, 200]);
    expect(got).toEqual(['peer-a']);
    expect(client.snapshot()).toMatchObject({ state: 'held', tracker: '127.0.0.1:7878', obtained: 1 });
  });
});

describe('ticket signing key file', () => {
  it('is created once with mode 600 and read back with the same key id; a readable file is tightened', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sd-ticket-key-'));
    const file = join(dir, 'sub', 'ims-ticket-key.pem');
    const a = loadOrCreateTicketKey(file);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const warnings: string[] = [];
    chmodSync(file, 0o644);
    const b = loadOrCreateTicketKey(file, (m) => warnings.push(m));
    expect(b.keyId).toBe(a.keyId);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(warnings[0]).toMatch(/readable by others \(mode 644\); changed to 600/);
    const bad = join(dir, 'bad.pem');
    writeFileSync(bad, 'not a key', { mode: 0o600 });
    expect(() => loadOrCreateTicketKey(bad)).toThrow(/not a usable Ed25519 private key/);
  });
});

describe('TicketClient renewal', () => {
  it('asks over the Service-Route, renews before expiry (at most half the lifetime) and retries failures with backoff', async () => {
    const clock = new FakeSipClock();
    clock.t = NOW;
    const requests: Array<{ headers: SipHeader[]; body: Buffer }> = [];
    let fail = false;
    let client: TicketClient | undefined;
    const endpoint = {
      request: async (req: { headers?: SipHeader[]; body?: Buffer }) => {
        requests.push({ headers: req.headers ?? [], body: req.body ?? Buffer.alloc(0) });
        if (fail) return { response: { kind: 'response', status: 404, reason: 'Not Found', headers: [], body: Buffer.alloc(0) }, cseq: 1 };
        const { requestId, peerId } = JSON.parse((req.body ?? Buffer.alloc(0)).toString());
        const ticket = Buffer.from(signTicket(claims({ peerId, iat: clock.now(), exp: clock.now() + 60_000 }), key.privateKey)).toString('base64');
        const delivery = message([{ name: 'Content-Type', value: TICKET_DELIVERY_TYPE }], { requestId, ticket, tracker: 't:1', peerId, keyId: key.keyId, expiresAt: clock.now() + 60_000 });
        delivery.headers = delivery.headers.map((h) => (h.name === 'From' ? { ...h, value: '<sip:superdist@ims.test>;tag=9' } : h));
        queueMicrotask(() => client!.handleDelivery(delivery, () => undefined));
        return { response: { kind: 'response', status: 202, reason: 'Accepted', headers: [], body: Buffer.alloc(0) }, cseq: 1 };
      },
    };
    const failures: string[] = [];
    client = new TicketClient({
      endpoint: endpoint as never,
      clock,
      aor: 'sip:alice@ims.test',
      serviceUri: 'sip:superdist@ims.test',
      routeSet: () => ['<sip:orig@core;lr>'],
      peerId: 'peer-a',
      deliveryTimeoutMs: 1000,
      renewBeforeMs: 10_000,
      retryMinMs: 500,
      retryMaxMs: 4000,
      onFailed: (err, retry) => failures.push(`${err.message} / retry ${retry}`),
    });
    client.start();
    clock.advance(0);
    await flush(20);
    expect(requests).toHaveLength(1);
    expect(requests[0]!.headers).toEqual([
      { name: 'Route', value: '<sip:orig@core;lr>' },
      { name: 'Content-Type', value: TICKET_REQUEST_TYPE },
    ]);
    expect(client.snapshot()).toMatchObject({ state: 'held', expiresAt: NOW + 60_000 });
    clock.advance(49_999);
    await flush(20);
    expect(requests).toHaveLength(1);
    clock.advance(1); // 10 s before expiry
    await flush(20);
    expect(requests).toHaveLength(2);
    expect(client.snapshot()).toMatchObject({ state: 'held', obtained: 2, expiresAt: NOW + 110_000 });
    fail = true;
    clock.advance(50_000);
    await flush(20);
    clock.advance(500);
    await flush(20);
    expect(failures).toEqual([
      'ticket service sip:superdist@ims.test answered 404 Not Found (is the tracker registered with the IMS core?) / retry 500',
      'ticket service sip:superdist@ims.test answered 404 Not Found (is the tracker registered with the IMS core?) / retry 1000',
    ]);
    expect(client.snapshot().state).toBe('held'); // the current ticket is still valid
    fail = false;
    clock.advance(1000);
    await flush(20);
    expect(client.snapshot()).toMatchObject({ state: 'held', obtained: 3, failures: 2 });
    client.stop();
  });
});
