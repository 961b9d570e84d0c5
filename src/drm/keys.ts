// Key handling with node:crypto only: Ed25519 (signatures) and X25519 (key agreement for wrapping).
// Public keys travel as raw 32 bytes in base64url; private keys are kept as PKCS#8 PEM files.
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { b64u, canonicalJson, DrmError, fromB64u } from './encoding.js';

export type KeyKind = 'ed25519' | 'x25519';

export interface KeyPair {
  privateKey: KeyObject;
  /** Raw public key, base64url. */
  publicKey: string;
}

export function generateKeyPair(kind: KeyKind): KeyPair {
  const { privateKey } = kind === 'ed25519' ? generateKeyPairSync('ed25519') : generateKeyPairSync('x25519');
  return { privateKey, publicKey: rawPublic(privateKey) };
}

/** Raw public key (base64url) of a private or public KeyObject. */
export function rawPublic(key: KeyObject): string {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  const jwk = pub.export({ format: 'jwk' });
  if (typeof jwk.x !== 'string') throw new DrmError('bad-key', 'not an OKP key');
  return jwk.x;
}

export function publicKeyFromRaw(raw: string, kind: KeyKind, what: string): KeyObject {
  fromB64u(raw, what, 32);
  try {
    return createPublicKey({ key: { kty: 'OKP', crv: kind === 'ed25519' ? 'Ed25519' : 'X25519', x: raw }, format: 'jwk' });
  } catch (err) {
    throw new DrmError('bad-key', `${what}: not a valid ${kind} public key (${(err as Error).message})`);
  }
}

export function privateKeyToPem(key: KeyObject): string {
  return key.export({ format: 'pem', type: 'pkcs8' }).toString();
}

export function privateKeyFromPem(pem: string, kind: KeyKind, what: string): KeyPair {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (err) {
    throw new DrmError('bad-key', `${what}: not a PKCS#8 private key (${(err as Error).message})`);
  }
  if (key.asymmetricKeyType !== kind) throw new DrmError('bad-key', `${what}: expected a ${kind} key, got ${key.asymmetricKeyType ?? 'unknown'}`);
  return { privateKey: key, publicKey: rawPublic(key) };
}

/** Domain-separated message: "superdist/<purpose>/v1\0" + canonical JSON of the value. */
function message(purpose: string, value: unknown): Buffer {
  return Buffer.concat([Buffer.from(`superdist/${purpose}/v1\0`, 'utf8'), Buffer.from(canonicalJson(value), 'utf8')]);
}

export function signJson(purpose: string, value: unknown, key: KeyObject): string {
  return b64u(sign(null, message(purpose, value), key));
}

export function verifyJson(purpose: string, value: unknown, signature: unknown, signerRaw: string): boolean {
  if (typeof signature !== 'string') return false;
  let sig: Buffer;
  try {
    sig = fromB64u(signature, 'signature', 64);
  } catch {
    return false;
  }
  try {
    return verify(null, message(purpose, value), publicKeyFromRaw(signerRaw, 'ed25519', 'signer key'), sig);
  } catch {
    return false;
  }
}
