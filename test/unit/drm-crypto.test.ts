// Crypto building blocks of the DRM: certificates, key wrapping, per-chunk AES-128-CTR.
import { createCipheriv, randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { issueCertificate, verifyCertificate } from '../../src/drm/certificate.js';
import { chunkIv, cryptChunk, newContentKey } from '../../src/drm/content-cipher.js';
import { canonicalJson } from '../../src/drm/encoding.js';
import { generateKeyPair } from '../../src/drm/keys.js';
import { unwrapKey, wrapKey } from '../../src/drm/key-wrap.js';
import { caIssue, initCa } from '../../src/drm/operator-ca.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'sd-drm-'));

describe('certificates', () => {
  it('a CA-issued certificate verifies; a forged one (other CA), an altered one and a wrong role are refused', () => {
    const ca = initCa(tmp(), 'op');
    const dev = generateKeyPair('ed25519');
    const wrap = generateKeyPair('x25519');
    const cert = caIssue(ca, { role: 'device', name: 'tv', signKey: dev.publicKey, wrapKey: wrap.publicKey });
    expect(verifyCertificate(cert, ca.cert).id).toBe(cert.id);
    expect(() => verifyCertificate(cert, ca.cert, { roles: ['ri'] })).toThrow(/has role device; expected ri/);

    const rogue = initCa(tmp(), 'rogue');
    const forged = issueCertificate({ role: 'device', name: 'tv', signKey: dev.publicKey }, { id: ca.cert.id, privateKey: rogue.key.privateKey }, rogue.key.privateKey, 10);
    expect(() => verifyCertificate(forged, ca.cert)).toThrow(/signature does not verify against the operator CA .*forged or altered/);
    expect(() => verifyCertificate(caIssue(rogue, { role: 'device', name: 'x', signKey: dev.publicKey }), ca.cert)).toThrow(/was issued by ca-.*not by the operator CA/);
    expect(() => verifyCertificate({ ...cert, name: 'other' }, ca.cert)).toThrow(/forged or altered/);
    expect(() => verifyCertificate({ ...cert, notAfter: new Date(0).toISOString() }, ca.cert)).toThrow(/forged or altered/);
  });

  it('canonical JSON does not depend on key order', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { y: 2, x: 1 }], c: 'z' } })).toBe('{"a":{"c":"z","d":[1,{"x":1,"y":2}]},"b":1}');
  });
});

describe('key wrapping (X25519 + HKDF + AES-256-GCM)', () => {
  it('unwraps only with the recipient key and the same context', () => {
    const k = newContentKey();
    const a = generateKeyPair('x25519');
    const b = generateKeyPair('x25519');
    const w = wrapKey(k, a.publicKey, 'ro:1:c');
    expect(unwrapKey(w, a.privateKey, 'ro:1:c').equals(k)).toBe(true);
    expect(() => unwrapKey(w, b.privateKey, 'ro:1:c')).toThrow(/not wrapped to this device's key/);
    expect(() => unwrapKey(w, a.privateKey, 'ro:2:c')).toThrow(/not wrapped/);
    const flipped = { ...w, ct: Buffer.from(Buffer.from(w.ct, 'base64url').map((x, i) => (i === 0 ? x ^ 1 : x))).toString('base64url') };
    expect(() => unwrapKey(flipped, a.privateKey, 'ro:1:c')).toThrow(/not wrapped/);
  });
});

describe('content cipher (AES-128-CTR, IV from the chunk index)', () => {
  it('matches AES-128-CTR with the counter block = u64 index || 0, round-trips, and differs per chunk', () => {
    const key = newContentKey();
    const data = randomBytes(5000);
    const c7 = cryptChunk(key, 7, data);
    const iv = Buffer.alloc(16);
    iv.writeBigUInt64BE(7n);
    expect(chunkIv(7).equals(iv)).toBe(true);
    const ref = createCipheriv('aes-128-ctr', key, iv);
    expect(c7.equals(Buffer.concat([ref.update(data), ref.final()]))).toBe(true);
    expect(cryptChunk(key, 7, c7).equals(data)).toBe(true);
    expect(cryptChunk(key, 8, data).equals(c7)).toBe(false);
    expect(() => cryptChunk(Buffer.alloc(15), 0, data)).toThrow(/16 bytes/);
  });
});
