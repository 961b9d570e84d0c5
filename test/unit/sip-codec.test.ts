// The SIP parser/serializer on messages shaped like real cores send them: several WWW-Authenticate
// fields, compact header names, folded lines, Path / Service-Route / P-Associated-URI lists,
// TCP stream framing with keep-alives.
import { describe, expect, it } from 'vitest';
import { parseSipMessage, serializeSipMessage, SipParseError, SipStreamDecoder } from '../../src/ims/sip-codec.js';
import { challengesOf, headerValues, parseCSeq, parseNameAddr, parseVia, splitHeaderList } from '../../src/ims/sip-headers.js';
import { canonicalHeaderName, getHeader, getHeaderLines, type SipRequest } from '../../src/ims/sip-message.js';
import { aorOf, formatSipUri, parseSipUri, sameContactUri } from '../../src/ims/sip-uri.js';

const crlf = (lines: string[]) => lines.join('\r\n');

// An S-CSCF's challenge (OpenIMSCore / Kamailio IMS style): AKA first, then plain digest MD5.
const IMS_401 = crlf([
  'SIP/2.0 401 Unauthorized - Challenging the UE',
  'Via: SIP/2.0/UDP 10.0.2.15:5060;branch=z9hG4bK-524287-1---a5e1b8f8b5a6c1d2;rport=5060;received=10.0.2.15',
  'From: <sip:alice@ims.example.net>;tag=4e1c2fa8',
  'To: <sip:alice@ims.example.net>;tag=b7f7c3a2a1c8e1c0a8e8e1d5c2a6f3b1-5d2e',
  'Call-ID: MzA4ZWU1ZjRiMDI3ZDY5ZjVlOGNlYzQyMjU4NDc5NDU.',
  'CSeq: 1 REGISTER',
  'Path: <sip:term@pcscf.ims.example.net:4060;lr>',
  'Service-Route: <sip:orig@scscf.ims.example.net:6060;lr>',
  'Allow: INVITE, ACK, CANCEL, OPTIONS, BYE, REFER, SUBSCRIBE, NOTIFY, PUBLISH, MESSAGE, INFO',
  'Server: Sip EXpress router (2.1.0-dev1 OpenIMSCore (i386/linux))',
  'WWW-Authenticate: Digest realm="ims.example.net", nonce="xQAb1FbrQBy2Ue7Hb1Vl7k3Mcaxv/gAAfQ7VFZp4KgA=", algorithm=AKAv1-MD5, qop="auth,auth-int"',
  'WWW-Authenticate: Digest realm="ims.example.net", nonce="5c2f1b7a0d9e8f7c", opaque="b8f7e6", algorithm=MD5, qop="auth"',
  'Content-Length: 0',
  '',
  '',
]);

// A registrar's 200 OK with folded lines, comma lists and multiple bindings.
const REG_200 = crlf([
  'SIP/2.0 200 OK',
  'Via: SIP/2.0/TCP 192.0.2.10:45678;branch=z9hG4bK776asdhds;received=192.0.2.10',
  'From: "Alice" <sip:alice@ims.example.net>;tag=1928301774',
  'To: <sip:alice@ims.example.net>;tag=reg-1',
  'Call-ID: a84b4c76e66710@pc33.example.net',
  'CSeq: 2 REGISTER',
  'Contact: <sip:alice@192.0.2.10:45678;transport=tcp>;expires=3600;q=0.8,',
  ' <sip:alice@198.51.100.7:5060>;expires=120',
  'Path: <sip:term@pcscf1.ims.example.net;lr>, <sip:term@pcscf2.ims.example.net;lr>',
  'Service-Route: <sip:orig@scscf.ims.example.net:6060;lr>',
  'Service-Route: <sip:orig2@as.ims.example.net;lr>',
  'P-Associated-URI: <sip:alice@ims.example.net>, <tel:+4930123456>,',
  '\t"Alice, Home" <sip:alice.home@ims.example.net>',
  'Date: Sat, 21 Nov 2026 12:00:00 GMT',
  'Content-Length: 0',
  '',
  '',
]);

// Compact forms (RFC 3261 §7.3.3) with a body.
const COMPACT_MESSAGE = crlf([
  'MESSAGE sip:superdist@ims.example.net SIP/2.0',
  'v: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKnashds8;rport',
  'v: SIP/2.0/UDP 10.1.1.1:41000;branch=z9hG4bKkjshdyff;received=10.1.1.1;rport=41000',
  'Max-Forwards: 69',
  'f: <sip:alice@ims.example.net>;tag=49583',
  't: sip:superdist@ims.example.net',
  'i: asd88asd77a@1.2.3.4',
  'CSeq: 1 MESSAGE',
  'm: <sip:alice@10.1.1.1:41000>',
  'c: application/vnd.superdist.ticket-request+json',
  'l: 38',
  '',
  '{"requestId":"r1","peerId":"peer-one"}',
]);

describe('parseSipMessage', () => {
  it('reads a 401 with two WWW-Authenticate fields, keeping their order', () => {
    const m = parseSipMessage(IMS_401);
    expect(m.kind).toBe('response');
    if (m.kind !== 'response') return;
    expect(m.status).toBe(401);
    expect(m.reason).toBe('Unauthorized - Challenging the UE');
    const ch = challengesOf(m, 'WWW-Authenticate');
    expect(ch.map((c) => c.params.get('algorithm'))).toEqual(['AKAv1-MD5', 'MD5']);
    expect(ch[0]?.params.get('qop')).toBe('auth,auth-int');
    expect(ch[1]?.params.get('nonce')).toBe('5c2f1b7a0d9e8f7c');
    expect(ch[1]?.params.get('opaque')).toBe('b8f7e6');
    expect(headerValues(m, 'Path')).toEqual(['<sip:term@pcscf.ims.example.net:4060;lr>']);
    expect(headerValues(m, 'Allow')).toHaveLength(11);
  });

  it('unfolds continuation lines and splits list headers across lines and commas', () => {
    const m = parseSipMessage(REG_200);
    const contacts = headerValues(m, 'Contact').map((v) => parseNameAddr(v));
    expect(contacts).toHaveLength(2);
    expect(contacts[0]?.uri).toBe('sip:alice@192.0.2.10:45678;transport=tcp');
    expect(contacts[0]?.params.get('expires')).toBe('3600');
    expect(contacts[1]?.params.get('expires')).toBe('120');
    expect(headerValues(m, 'Path')).toEqual(['<sip:term@pcscf1.ims.example.net;lr>', '<sip:term@pcscf2.ims.example.net;lr>']);
    expect(headerValues(m, 'Service-Route')).toEqual(['<sip:orig@scscf.ims.example.net:6060;lr>', '<sip:orig2@as.ims.example.net;lr>']);
    const pau = headerValues(m, 'P-Associated-URI');
    expect(pau).toEqual(['<sip:alice@ims.example.net>', '<tel:+4930123456>', '"Alice, Home" <sip:alice.home@ims.example.net>']);
    expect(parseNameAddr(pau[2] as string)?.display).toBe('Alice, Home');
    // Date has a comma but is not a list header.
    expect(headerValues(m, 'Date')).toEqual(['Sat, 21 Nov 2026 12:00:00 GMT']);
  });

  it('expands compact header names and honours l: for the body', () => {
    const m = parseSipMessage(COMPACT_MESSAGE) as SipRequest;
    expect(m.method).toBe('MESSAGE');
    expect(getHeader(m, 'Call-ID')).toBe('asd88asd77a@1.2.3.4');
    expect(getHeaderLines(m, 'Via')).toHaveLength(2);
    expect(getHeader(m, 'Content-Type')).toBe('application/vnd.superdist.ticket-request+json');
    expect(parseNameAddr(getHeader(m, 'To') as string)?.uri).toBe('sip:superdist@ims.example.net');
    expect(JSON.parse(m.body.toString())).toEqual({ requestId: 'r1', peerId: 'peer-one' });
    expect(m.headers.map((h) => h.name)).toContain('Contact');
  });

  it('ignores leading CRLFs, accepts bare LF line ends, cuts the body at Content-Length', () => {
    const text = '\r\n\r\nSIP/2.0 200 OK\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\nFrom: <sip:a@b>;tag=1\nTo: <sip:a@b>\nCall-ID: x\nCSeq: 1 OPTIONS\nContent-Length: 2\n\nokEXTRA';
    const m = parseSipMessage(text);
    expect(m.body.toString()).toBe('ok');
  });

  it('names what is wrong with bad input', () => {
    expect(() => parseSipMessage('HELLO WORLD\r\n\r\n')).toThrow(SipParseError);
    expect(() => parseSipMessage('HELLO WORLD\r\n\r\n')).toThrow(/start line/);
    const noCallId = 'SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>\r\nTo: <sip:a@b>\r\nCSeq: 1 X\r\n\r\n';
    expect(() => parseSipMessage(noCallId)).toThrow(/Call-ID/);
    const short = COMPACT_MESSAGE.replace('l: 38', 'l: 99');
    expect(() => parseSipMessage(short)).toThrow(/shorter than Content-Length/);
    expect(() => parseSipMessage(COMPACT_MESSAGE.replace('l: 38', 'l: -1'))).toThrow(/Content-Length/);
    expect(() => parseSipMessage(`${' '.repeat(10)}\r\n`)).toThrow();
    const huge = `SIP/2.0 200 OK\r\nX-Big: ${'a'.repeat(40_000)}\r\n\r\n`;
    expect(() => parseSipMessage(huge)).toThrow(/exceeds/);
  });

  it('serializes with a correct Content-Length and parses back to the same message', () => {
    const m = parseSipMessage(COMPACT_MESSAGE);
    const bytes = serializeSipMessage(m);
    const text = bytes.toString();
    expect(text).toContain('Call-ID: asd88asd77a@1.2.3.4\r\n');
    expect(text).toContain('Content-Length: 38\r\n\r\n{');
    const again = parseSipMessage(bytes);
    expect(again.headers.filter((h) => h.name !== 'Content-Length')).toEqual(m.headers.filter((h) => h.name !== 'Content-Length'));
    expect(again.body.equals(m.body)).toBe(true);
  });
});

describe('SipStreamDecoder (TCP)', () => {
  it('frames messages split anywhere and several in one read, answering CRLF pings', () => {
    const a = Buffer.from(REG_200);
    const b = Buffer.from(COMPACT_MESSAGE);
    const all = Buffer.concat([Buffer.from('\r\n\r\n'), a, b, Buffer.from('\r\n')]);
    for (const cut of [1, 3, 50, a.length + 2, a.length + 10, all.length - 5]) {
      const d = new SipStreamDecoder();
      const items = [...d.push(all.subarray(0, cut)), ...d.push(all.subarray(cut))];
      expect(items.filter((i) => i.ping)).toHaveLength(1);
      const msgs = items.flatMap((i) => (i.message ? [i.message] : []));
      expect(msgs.map((m) => (m.kind === 'request' ? m.method : m.status))).toEqual([200, 'MESSAGE']);
      expect(d.pending).toBe(0);
    }
  });

  it('keeps a ping split across reads', () => {
    const d = new SipStreamDecoder();
    expect(d.push(Buffer.from('\r\n\r'))).toEqual([]);
    expect(d.push(Buffer.from('\n'))).toEqual([{ ping: true }]);
  });

  it('refuses a stream message without Content-Length and an endless header section', () => {
    const d = new SipStreamDecoder();
    expect(() => d.push(Buffer.from(REG_200.replace('Content-Length: 0\r\n', '')))).toThrow(/without Content-Length/);
    const d2 = new SipStreamDecoder({ maxHeaderBytes: 1000, maxBodyBytes: 100 });
    expect(() => d2.push(Buffer.from(`SIP/2.0 200 OK\r\nX: ${'a'.repeat(2000)}`))).toThrow(/no end of headers/);
    const d3 = new SipStreamDecoder({ maxHeaderBytes: 4000, maxBodyBytes: 10 });
    expect(() => d3.push(Buffer.from(COMPACT_MESSAGE))).toThrow(/exceeds 10/);
  });
});

describe('header values', () => {
  it('parses Via with IPv6, rport flag and received', () => {
    const v = parseVia('SIP/2.0/TCP [2001:db8::1]:5061;branch=z9hG4bK-x;rport;received=2001:db8::9');
    expect(v).toMatchObject({ transport: 'TCP', host: '2001:db8::1', port: 5061 });
    expect(v?.params.get('rport')).toBeNull();
    expect(v?.params.get('branch')).toBe('z9hG4bK-x');
    expect(parseVia('SIP/2.0/UDP pc33.example.com')?.port).toBeUndefined();
    expect(parseVia('HTTP/1.1 x')).toBeUndefined();
  });

  it('parses CSeq and name-addr forms', () => {
    expect(parseCSeq('4711 register')).toEqual({ seq: 4711, method: 'REGISTER' });
    expect(parseCSeq('x REGISTER')).toBeUndefined();
    expect(parseNameAddr('sip:bob@example.com;tag=abc')).toMatchObject({ uri: 'sip:bob@example.com' });
    expect(parseNameAddr('sip:bob@example.com;tag=abc')?.params.get('tag')).toBe('abc');
    expect(parseNameAddr('Bob <sip:bob@example.com;transport=tcp>;expires=0')?.params.get('expires')).toBe('0');
    expect(parseNameAddr('"Quote \\" <in> name" <sip:q@x>')?.display).toBe('Quote " <in> name');
    expect(splitHeaderList('<sip:a@b;x=1,2>, "c, d" <sip:c@d>')).toEqual(['<sip:a@b;x=1,2>', '"c, d" <sip:c@d>']);
  });

  it('parses comma-joined challenges in one field', () => {
    const m = parseSipMessage(IMS_401);
    const joined = 'Digest realm="a", nonce="1", algorithm=SHA-256, Digest realm="a", nonce="2"';
    m.headers.push({ name: 'Proxy-Authenticate', value: joined });
    const ch = challengesOf(m, 'Proxy-Authenticate');
    expect(ch.map((c) => c.params.get('nonce'))).toEqual(['1', '2']);
  });

  it('canonicalises header names', () => {
    expect(canonicalHeaderName('www-authenticate')).toBe('WWW-Authenticate');
    expect(canonicalHeaderName('CALL-ID')).toBe('Call-ID');
    expect(canonicalHeaderName('p-associated-uri')).toBe('P-Associated-URI');
    expect(canonicalHeaderName('service-route')).toBe('Service-Route');
    expect(canonicalHeaderName('l')).toBe('Content-Length');
  });
});

describe('SIP URIs', () => {
  it('parses and formats user, host, port, params and headers', () => {
    const u = parseSipUri('sip:alice%40home@[2001:db8::1]:5070;transport=tcp;lr?subject=x');
    expect(u).toMatchObject({ scheme: 'sip', user: 'alice@home', host: '2001:db8::1', port: 5070, headers: 'subject=x' });
    expect(u?.params.get('lr')).toBeNull();
    expect(formatSipUri(u!)).toBe('sip:alice%40home@[2001:db8::1]:5070;transport=tcp;lr?subject=x');
    expect(parseSipUri('tel:+4930123')).toBeUndefined();
    expect(parseSipUri('sip:host:99999')).toBeUndefined();
    expect(aorOf(parseSipUri('sip:bob@EXAMPLE.com:5060;transport=tcp')!)).toBe('sip:bob@example.com');
  });

  it('compares contacts with default ports and transports', () => {
    const a = parseSipUri('sip:alice@192.0.2.1')!;
    expect(sameContactUri(a, parseSipUri('sip:alice@192.0.2.1:5060;transport=UDP')!)).toBe(true);
    expect(sameContactUri(a, parseSipUri('sip:alice@192.0.2.1:5060;transport=tcp')!)).toBe(false);
    expect(sameContactUri(a, parseSipUri('sip:bob@192.0.2.1')!)).toBe(false);
  });
});
