// Authenticated requests to the rights issuer: { cert, nonce, body, sig } where `nonce` is a fresh
// single-use value the RI handed out (GET /v1/nonce) and `sig` is the sender's Ed25519 signature
// over "superdist/request/v1\0" + canonical JSON of { path, nonce, body }. The RI checks the
// certificate chain, the signature and that the nonce is outstanding, then burns the nonce: a
// replayed request is refused.
import { randomBytes, type KeyObject } from 'node:crypto';
import { asObject, asString, DrmError } from './encoding.js';
import { signJson, verifyJson } from './keys.js';
import { verifyCertificate, type Certificate, type CertRole } from './certificate.js';

export interface SignedRequest {
  cert: Certificate;
  nonce: string;
  body: Record<string, unknown>;
  sig: string;
}

export function signRequest(path: string, nonce: string, body: Record<string, unknown>, cert: Certificate, key: KeyObject): SignedRequest {
  return { cert, nonce, body, sig: signJson('request', { path, nonce, body }, key) };
}

/** Nonces the RI handed out and has not seen used; in memory (after a restart every old one is unknown). */
export class NonceBook {
  private readonly outstanding = new Map<string, number>();
  private readonly used = new Map<string, number>();

  constructor(private readonly ttlMs: number) {}

  issue(now = Date.now()): string {
    this.sweep(now);
    const n = randomBytes(16).toString('base64url');
    this.outstanding.set(n, now + this.ttlMs);
    return n;
  }

  /** Burns the nonce; throws DrmError('replay' | 'bad-nonce') when it cannot be used. */
  take(nonce: string, now = Date.now()): void {
    this.sweep(now);
    if (this.used.has(nonce)) throw new DrmError('replay', 'replayed request: its nonce was already used');
    const exp = this.outstanding.get(nonce);
    if (exp === undefined) throw new DrmError('bad-nonce', 'unknown or expired nonce: ask GET /v1/nonce for a fresh one');
    this.outstanding.delete(nonce);
    this.used.set(nonce, exp);
  }

  private sweep(now: number): void {
    for (const [n, exp] of this.outstanding) if (exp < now) this.outstanding.delete(n);
    for (const [n, exp] of this.used) if (exp < now) this.used.delete(n);
  }
}

/**
 * Checks certificate, signature and nonce (in that order) of a request for `path`; the nonce is
 * burned in the RI's store (in memory for the journal, shared by every process on PostgreSQL).
 */
export async function verifyRequest(reqIn: unknown, path: string, ca: Certificate, nonces: { takeNonce(n: string): Promise<void> }, roles?: readonly CertRole[]): Promise<{ cert: Certificate; body: Record<string, unknown>; nonce: string }> {
  const v = checkSigned(reqIn, path, ca, roles);
  await nonces.takeNonce(v.nonce);
  return v;
}

function checkSigned(reqIn: unknown, path: string, ca: Certificate, roles?: readonly CertRole[]): { cert: Certificate; body: Record<string, unknown>; nonce: string } {
  const r = asObject(reqIn, 'request');
  const cert = verifyCertificate(r.cert, ca, roles ? { roles } : {});
  const nonce = asString(r.nonce, 'request nonce');
  const body = asObject(r.body, 'request body');
  if (!verifyJson('request', { path, nonce, body }, r.sig, cert.signKey)) {
    throw new DrmError('bad-signature', `request to ${path}: signature does not verify with the key of ${cert.id}`);
  }
  return { cert, body, nonce };
}
