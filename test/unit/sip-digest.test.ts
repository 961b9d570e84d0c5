// Digest computation against the RFC test vectors, challenge selection among several challenges,
// and the Authorization value (parsed back as a server would).
import { describe, expect, it } from 'vitest';
import {
  buildAuthorization, computeDigestResponse, formatNonceCount, selectChallenge, toDigestChallenge,
} from '../../src/ims/digest.js';
import { parseChallenges } from '../../src/ims/sip-headers.js';

describe('computeDigestResponse: RFC test vectors', () => {
  it('RFC 2617 §3.5 (MD5, qop=auth)', () => {
    expect(
      computeDigestResponse({
        algorithm: 'MD5',
        username: 'Mufasa',
        realm: 'testrealm@host.com',
        password: 'Circle Of Life',
        method: 'GET',
        uri: '/dir/index.html',
        nonce: 'dcd98b7102dd2f0e8b11d0f600bfb0c093',
        cnonce: '0a4f113b',
        nc: '00000001',
        qop: 'auth',
      }),
    ).toBe('6629fae49393a05397450978507c4ef1');
  });

  const rfc7616 = {
    username: 'Mufasa',
    realm: 'http-auth@example.org',
    password: 'Circle of Life',
    method: 'GET',
    uri: '/dir/index.html',
    nonce: '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v',
    cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ',
    nc: '00000001',
    qop: 'auth' as const,
  };

  it('RFC 7616 §3.9.1 (MD5)', () => {
    expect(computeDigestResponse({ ...rfc7616, algorithm: 'MD5' })).toBe('8ca523f5e9506fed4657c9700eebdbec');
  });

  it('RFC 7616 §3.9.1 (SHA-256)', () => {
    expect(computeDigestResponse({ ...rfc7616, algorithm: 'SHA-256' })).toBe('753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1');
  });

  it('RFC 2069 mode (no qop) and -sess need their inputs', () => {
    const noQop = computeDigestResponse({ ...rfc7616, algorithm: 'MD5', qop: undefined, cnonce: undefined, nc: undefined });
    expect(noQop).toMatch(/^[0-9a-f]{32}$/);
    expect(noQop).not.toBe('8ca523f5e9506fed4657c9700eebdbec');
    expect(() => computeDigestResponse({ ...rfc7616, algorithm: 'MD5-sess', cnonce: undefined })).toThrow(/cnonce/);
    expect(computeDigestResponse({ ...rfc7616, algorithm: 'SHA-512-256' })).toMatch(/^[0-9a-f]{64}$/);
  });

  it('formats nonce counts as 8 hex digits', () => {
    expect(formatNonceCount(1)).toBe('00000001');
    expect(formatNonceCount(255)).toBe('000000ff');
  });
});

describe('selectChallenge', () => {
  const aka = 'Digest realm="ims.test", nonce="abc", algorithm=AKAv1-MD5, qop="auth"';
  const md5 = 'Digest realm="ims.test", nonce="n1", qop="auth,auth-int", opaque="o"';
  const sha = 'Digest realm="ims.test", nonce="n2", algorithm=SHA-256, qop="auth"';

  it('skips AKA and takes the first supported challenge in server order', () => {
    const ch = selectChallenge([...parseChallenges(aka), ...parseChallenges(md5), ...parseChallenges(sha)]);
    expect(ch).toMatchObject({ algorithm: 'MD5', nonce: 'n1', opaque: 'o', qop: ['auth', 'auth-int'] });
    expect(selectChallenge([...parseChallenges(sha), ...parseChallenges(md5)])?.algorithm).toBe('SHA-256');
  });

  it('declines what it cannot answer', () => {
    expect(selectChallenge(parseChallenges(aka))).toBeUndefined();
    expect(selectChallenge(parseChallenges('Basic realm="x"'))).toBeUndefined();
    expect(selectChallenge(parseChallenges('Digest realm="x", nonce="y", qop="auth-int"'))).toBeUndefined();
    expect(selectChallenge(parseChallenges('Digest realm="x"'))).toBeUndefined();
    expect(toDigestChallenge({ scheme: 'Digest', params: new Map([['realm', 'r'], ['nonce', 'n'], ['stale', 'TRUE']]) })?.stale).toBe(true);
  });
});

describe('buildAuthorization', () => {
  it('answers a qop=auth challenge with a response a server can recompute', () => {
    const ch = selectChallenge(parseChallenges('Digest realm="ims.test", nonce="n1", algorithm=MD5, qop="auth", opaque="op"'))!;
    const value = buildAuthorization(ch, { username: 'alice', password: 'secret' }, { method: 'REGISTER', uri: 'sip:ims.test', nc: 3, cnonce: 'c0ffee' });
    const [parsed] = parseChallenges(value);
    const p = parsed!.params;
    expect(parsed!.scheme).toBe('Digest');
    expect(Object.fromEntries(p)).toMatchObject({
      username: 'alice', realm: 'ims.test', nonce: 'n1', uri: 'sip:ims.test', algorithm: 'MD5', cnonce: 'c0ffee', opaque: 'op', qop: 'auth', nc: '00000003',
    });
    const expected = computeDigestResponse({
      algorithm: 'MD5', username: 'alice', realm: 'ims.test', password: 'secret', method: 'REGISTER', uri: 'sip:ims.test',
      nonce: 'n1', cnonce: 'c0ffee', nc: '00000003', qop: 'auth',
    });
    expect(p.get('response')).toBe(expected);
  });

  it('without qop sends neither nc nor cnonce (RFC 2069)', () => {
    const ch = selectChallenge(parseChallenges('Digest realm="r", nonce="n"'))!;
    const value = buildAuthorization(ch, { username: 'u', password: 'p' }, { method: 'MESSAGE', uri: 'sip:x@r', nc: 1 });
    expect(value).not.toMatch(/nc=|cnonce=|qop=/);
  });

  it('hashes the user name when the server asks for userhash (RFC 7616 §3.4.4)', () => {
    const ch = selectChallenge(parseChallenges('Digest realm="r", nonce="n", algorithm=SHA-256, qop="auth", userhash=true'))!;
    const value = buildAuthorization(ch, { username: 'u', password: 'p' }, { method: 'REGISTER', uri: 'sip:r', nc: 1 });
    expect(value).toMatch(/username="[0-9a-f]{64}"/);
    expect(value).toContain('userhash=true');
  });
});
