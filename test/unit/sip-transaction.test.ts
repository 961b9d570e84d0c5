// RFC 3261 timers under a virtual clock: non-INVITE client transactions (E, F, K) over UDP and TCP,
// server transactions (J) absorbing retransmissions, and the endpoint's transport-failure paths.
import { describe, expect, it } from 'vitest';
import { SipEndpoint, SipRequestError } from '../../src/ims/sip-endpoint.js';
import type { SipResponse } from '../../src/ims/sip-message.js';
import { ServerTransactions } from '../../src/ims/sip-server-transactions.js';
import { DEFAULT_SIP_TIMERS } from '../../src/ims/sip-timers.js';
import { NonInviteClientTransaction } from '../../src/ims/sip-transaction.js';
import { FakeSipClock, flush, responseTo, transportFactory } from './sip-fakes.js';
import { parseSipMessage } from '../../src/ims/sip-codec.js';

const res = (status: number): SipResponse => ({ kind: 'response', status, reason: 'X', headers: [], body: Buffer.alloc(0) });

function tx(reliable: boolean) {
  const clock = new FakeSipClock();
  const start = clock.now();
  const sends: number[] = [];
  const events: string[] = [];
  const t = new NonInviteClientTransaction({
    clock,
    timers: DEFAULT_SIP_TIMERS,
    reliable,
    send: () => sends.push(clock.now() - start),
    onProvisional: (r) => events.push(`prov ${r.status}`),
    onFinal: (r) => events.push(`final ${r.status}`),
    onTimeout: () => events.push(`timeout at ${clock.now() - start}`),
    onTerminated: () => events.push(`terminated at ${clock.now() - start}`),
  });
  t.start();
  return { clock, t, sends, events };
}

describe('non-INVITE client transaction', () => {
  it('UDP: retransmits on timer E (T1 doubling up to T2) and times out on timer F = 64*T1', () => {
    const { clock, t, sends, events } = tx(false);
    clock.advance(40_000);
    expect(sends).toEqual([0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500]);
    expect(events).toEqual(['terminated at 32000', 'timeout at 32000']);
    expect(t.state).toBe('terminated');
    expect(clock.pending).toBe(0);
  });

  it('UDP: a provisional moves to proceeding, where timer E fires every T2', () => {
    const { clock, t, sends, events } = tx(false);
    clock.advance(600); // sent at 0 and 500
    t.receive(res(100));
    expect(t.state).toBe('proceeding');
    clock.advance(10_000);
    // Timer E armed at 500 for 1000 ms fires at 1500, then every T2.
    expect(sends).toEqual([0, 500, 1500, 5500, 9500]);
    t.receive(res(200));
    expect(events).toEqual(['prov 100', 'final 200']);
    expect(t.state).toBe('completed');
    // Timer K (T4) absorbs retransmitted finals, then the transaction ends.
    t.receive(res(200));
    clock.advance(5000);
    expect(events).toEqual(['prov 100', 'final 200', 'terminated at 15600']);
    expect(sends).toHaveLength(5);
  });

  it('TCP: no retransmissions, timer F still applies, no timer K', () => {
    const { clock, sends, events } = tx(true);
    clock.advance(31_999);
    expect(sends).toEqual([0]);
    clock.advance(1);
    expect(events).toEqual(['terminated at 32000', 'timeout at 32000']);

    const b = tx(true);
    b.t.receive(res(401));
    expect(b.events).toEqual(['final 401', 'terminated at 0']);
  });
});

describe('server transactions', () => {
  const req = parseSipMessage(
    'MESSAGE sip:t@d SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKabc\r\nFrom: <sip:a@d>;tag=1\r\nTo: <sip:t@d>\r\nCall-ID: c\r\nCSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n',
  );
  if (req.kind !== 'request') throw new Error('fixture');

  it('absorbs retransmissions, resends the final response until timer J', () => {
    const clock = new FakeSipClock();
    const st = new ServerTransactions({ clock, timers: DEFAULT_SIP_TIMERS, reliable: false, maxEntries: 10 });
    const resent: Buffer[] = [];
    expect(st.onRequest(req, (b) => resent.push(b))).toBe('new');
    expect(st.onRequest(req, (b) => resent.push(b))).toBe('retransmission');
    expect(resent).toHaveLength(0); // not answered yet
    st.onFinalResponse(req, Buffer.from('final'));
    expect(st.onRequest(req, (b) => resent.push(b))).toBe('retransmission');
    expect(resent.map(String)).toEqual(['final']);
    clock.advance(32_000);
    expect(st.size).toBe(0);
    expect(st.onRequest(req, () => undefined)).toBe('new');
  });

  it('forgets answered requests at once on TCP and bounds the table', () => {
    const clock = new FakeSipClock();
    const st = new ServerTransactions({ clock, timers: DEFAULT_SIP_TIMERS, reliable: true, maxEntries: 1 });
    st.onRequest(req, () => undefined);
    const other = { ...req, headers: req.headers.map((h) => (h.name === 'Via' ? { ...h, value: h.value.replace('abc', 'def') } : h)) };
    expect(st.onRequest(other, () => undefined)).toBe('overloaded');
    st.onFinalResponse(req, Buffer.from('x'));
    expect(st.size).toBe(0);
  });
});

describe('SipEndpoint', () => {
  function endpoint(transport: 'udp' | 'tcp' = 'udp') {
    const clock = new FakeSipClock();
    const f = transportFactory();
    const ep = new SipEndpoint({
      transport,
      proxy: { host: '192.0.2.1', port: 5060 },
      clock,
      timers: DEFAULT_SIP_TIMERS,
      credentials: { username: 'alice', password: 'pw' },
      userAgent: 'test',
      createTransport: f.create,
    });
    return { clock, ep, t: () => f.get() };
  }
  const request = { method: 'OPTIONS', requestUri: 'sip:d', from: '<sip:a@d>;tag=1', to: '<sip:d>', callId: 'c1', cseq: 1 };

  it('builds a request with a fresh RFC 3261 branch and matches the response to it', async () => {
    const { ep, t } = endpoint();
    const p = ep.request(request);
    await flush();
    const sent = t().requests('OPTIONS')[0]!;
    expect(sent.headers.find((h) => h.name === 'Via')?.value).toMatch(/^SIP\/2\.0\/UDP 192\.0\.2\.10:5099;branch=z9hG4bK[0-9a-f]{20};rport$/);
    t().receive({ ...responseTo(sent, 200, 'OK'), headers: responseTo(sent, 200, 'OK').headers.map((h) => (h.name === 'Via' ? { ...h, value: h.value.replace('branch=z9hG4bK', 'branch=z9hG4bKother') } : h)) });
    t().receive(responseTo(sent, 200, 'OK'));
    const r = await p;
    expect(r.response.status).toBe(200);
    expect(r.cseq).toBe(1);
  });

  it('fails pending requests at once when the UDP proxy is unreachable or the TCP connection drops', async () => {
    const udp = endpoint('udp');
    const p = udp.ep.request(request);
    await flush();
    udp.t().events.onUnreachable?.(new Error('ECONNREFUSED'));
    await expect(p).rejects.toThrow(/not listening \(ICMP port unreachable\)/);

    const tcp = endpoint('tcp');
    const q = tcp.ep.request(request);
    await flush();
    tcp.t().events.onClosed('connection reset');
    const err = await q.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SipRequestError);
    expect((err as SipRequestError).kind).toBe('transport');
    expect((err as Error).message).toMatch(/connection to 192\.0\.2\.1:5060 over TCP lost: connection reset/);
  });

  it('times out with timer F and says so', async () => {
    const { clock, ep } = endpoint();
    const p = ep.request(request);
    await flush();
    clock.advance(32_000);
    await expect(p).rejects.toThrow(/no answer to OPTIONS from 192\.0\.2\.1:5060 over UDP within 32000 ms \(RFC 3261 timer F\)/);
  });

  it('answers requests from the proxy, mirroring headers and adding a To tag', async () => {
    const { ep, t } = endpoint();
    await ep.open();
    const incoming = parseSipMessage(
      'OPTIONS sip:alice@192.0.2.10:5099 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKp1\r\nVia: SIP/2.0/UDP 10.9.9.9;branch=z9hG4bKq\r\nFrom: <sip:x@d>;tag=9\r\nTo: <sip:alice@d>\r\nCall-ID: in1\r\nCSeq: 7 OPTIONS\r\nContent-Length: 0\r\n\r\n',
    );
    t().receive(incoming);
    t().receive(incoming); // retransmission: answered again from the table, not the handler
    const out = t().responses();
    expect(out).toHaveLength(2);
    expect(out[0]!.status).toBe(405); // no handler installed
    expect(out[0]!.headers.filter((h) => h.name === 'Via')).toHaveLength(2);
    expect(out[0]!.headers.find((h) => h.name === 'To')?.value).toMatch(/^<sip:alice@d>;tag=[0-9a-f]+$/);
    expect(out[1]!.headers).toEqual(out[0]!.headers);
  });
});
