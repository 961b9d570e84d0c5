// Wrapping a symmetric key (content key, domain key) to an X25519 public key: ephemeral X25519
// agreement, HKDF-SHA256 (salt = ephemeral public key, info = purpose + context), AES-256-GCM.
// The context (an RO id, a domain id) is also the GCM additional data, so a wrapped key cannot be
// moved into another object.
import { createCipheriv, createDecipheriv, diffieHellman, hkdfSync, randomBytes, type KeyObject } from 'node:crypto';
import { b64u, DrmError, fromB64u, asObject } from './encoding.js';
import { generateKeyPair, publicKeyFromRaw } from './keys.js';

export interface WrappedKey {
  alg: 'x25519-hkdf-sha256-a256gcm';
  /** Ephemeral X25519 public key. */
  epk: string;
  iv: string;
  ct: string;
  tag: string;
}

function kek(shared: Buffer, epk: string, context: string): Buffer {
  return Buffer.from(hkdfSync('sha256', shared, Buffer.from(epk, 'base64url'), Buffer.from(`superdist/key-wrap/v1\0${context}`, 'utf8'), 32));
}

export function wrapKey(key: Uint8Array, recipientX25519: string, context: string): WrappedKey {
  const eph = generateKeyPair('x25519');
  const shared = diffieHellman({ privateKey: eph.privateKey, publicKey: publicKeyFromRaw(recipientX25519, 'x25519', 'recipient key') });
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', kek(shared, eph.publicKey, context), iv);
  c.setAAD(Buffer.from(context, 'utf8'));
  const ct = Buffer.concat([c.update(key), c.final()]);
  return { alg: 'x25519-hkdf-sha256-a256gcm', epk: eph.publicKey, iv: b64u(iv), ct: b64u(ct), tag: b64u(c.getAuthTag()) };
}

/** Throws DrmError('unwrap-failed') when the key was not wrapped to this private key and context. */
export function unwrapKey(w: unknown, recipient: KeyObject, context: string): Buffer {
  const o = asObject(w, 'wrapped key');
  if (o.alg !== 'x25519-hkdf-sha256-a256gcm') throw new DrmError('bad-format', `wrapped key: unknown algorithm ${JSON.stringify(o.alg)}`);
  const epk = String(o.epk);
  try {
    const shared = diffieHellman({ privateKey: recipient, publicKey: publicKeyFromRaw(epk, 'x25519', 'ephemeral key') });
    const d = createDecipheriv('aes-256-gcm', kek(shared, epk, context), fromB64u(o.iv, 'wrapped key iv', 12));
    d.setAAD(Buffer.from(context, 'utf8'));
    d.setAuthTag(fromB64u(o.tag, 'wrapped key tag', 16));
    return Buffer.concat([d.update(fromB64u(o.ct, 'wrapped key')), d.final()]);
  } catch (err) {
    if (err instanceof DrmError && err.code === 'bad-format') throw err;
    throw new DrmError('unwrap-failed', `the key in ${context} was not wrapped to this device's key`);
  }
}
