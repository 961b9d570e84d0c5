// Certificates: compact signed JSON (see docs/drm.md#certificates).
//   { v: 1, role: 'ca'|'ri'|'device'|'packager', id, name, signKey (Ed25519 raw, b64url),
//     wrapKey? (X25519 raw, b64url), issuer (CA id), notBefore, notAfter (ISO 8601), sig }
// `sig` is Ed25519 by the issuer's signKey over "superdist/cert/v1\0" + canonical JSON of the rest.
// The CA certificate is self-signed. Ids are the role's prefix + the first 16 bytes of
// SHA-256(signKey) in hex, so an id names exactly one key.
import { createHash, type KeyObject } from 'node:crypto';
import { asObject, asString, DrmError } from './encoding.js';
import { publicKeyFromRaw, signJson, verifyJson } from './keys.js';

export const CERT_ROLES = ['ca', 'ri', 'device', 'packager'] as const;
export type CertRole = (typeof CERT_ROLES)[number];

export interface Certificate {
  v: 1;
  role: CertRole;
  id: string;
  name: string;
  signKey: string;
  wrapKey?: string;
  issuer: string;
  notBefore: string;
  notAfter: string;
  sig: string;
}

const PREFIX: Record<CertRole, string> = { ca: 'ca-', ri: 'ri-', device: 'dev-', packager: 'pkg-' };
const DAY_MS = 86_400_000;

export function idFor(role: CertRole, signKey: string): string {
  return PREFIX[role] + createHash('sha256').update(Buffer.from(signKey, 'base64url')).digest('hex').slice(0, 32);
}

export interface CertSubject {
  role: CertRole;
  name: string;
  signKey: string;
  wrapKey?: string;
}

export function issueCertificate(subject: CertSubject, issuer: { id: string; privateKey: KeyObject } | 'self', signer: KeyObject, validDays: number, now = Date.now()): Certificate {
  publicKeyFromRaw(subject.signKey, 'ed25519', 'signing key');
  if (subject.wrapKey) publicKeyFromRaw(subject.wrapKey, 'x25519', 'wrapping key');
  const id = idFor(subject.role, subject.signKey);
  const body = {
    v: 1 as const,
    role: subject.role,
    id,
    name: subject.name,
    signKey: subject.signKey,
    ...(subject.wrapKey ? { wrapKey: subject.wrapKey } : {}),
    issuer: issuer === 'self' ? id : issuer.id,
    notBefore: new Date(now - 60_000).toISOString(),
    notAfter: new Date(now + validDays * DAY_MS).toISOString(),
  };
  return { ...body, sig: signJson('cert', body, issuer === 'self' ? signer : issuer.privateKey) };
}

/** Shape check only (no signature): a clear error naming the bad field. */
export function parseCertificate(v: unknown, what = 'certificate'): Certificate {
  const o = asObject(v, what);
  if (o.v !== 1) throw new DrmError('bad-format', `${what}: unknown version ${JSON.stringify(o.v)}`);
  if (!CERT_ROLES.includes(o.role as CertRole)) throw new DrmError('bad-format', `${what}: unknown role ${JSON.stringify(o.role)}`);
  for (const f of ['id', 'signKey', 'issuer', 'notBefore', 'notAfter', 'sig'] as const) asString(o[f], `${what}.${f}`);
  if (typeof o.name !== 'string') throw new DrmError('bad-format', `${what}.name: expected a string`);
  return o as unknown as Certificate;
}

function unsigned(c: Certificate): Omit<Certificate, 'sig'> {
  const { sig: _sig, ...rest } = c;
  return rest;
}

/**
 * Verifies `cert` against the trusted CA certificate: issuer, signature, id/key match, validity,
 * and (when given) the expected role. Throws DrmError with a message naming what failed.
 */
export function verifyCertificate(certIn: unknown, ca: Certificate, opts: { roles?: readonly CertRole[]; now?: number } = {}): Certificate {
  const cert = parseCertificate(certIn);
  const now = opts.now ?? Date.now();
  if (cert.id !== idFor(cert.role, cert.signKey)) throw new DrmError('bad-certificate', `certificate ${cert.id}: its id does not match its key (altered)`);
  if (cert.role === 'ca') {
    if (cert.id !== ca.id) throw new DrmError('bad-certificate', `certificate ${cert.id} is a CA other than the operator CA ${ca.id}`);
  } else if (cert.issuer !== ca.id) {
    throw new DrmError('bad-certificate', `certificate ${cert.id} was issued by ${cert.issuer}, not by the operator CA ${ca.id}`);
  }
  if (!verifyJson('cert', unsigned(cert), cert.sig, ca.signKey)) {
    throw new DrmError('bad-certificate', `certificate ${cert.id} (${cert.name}): signature does not verify against the operator CA ${ca.id} (forged or altered)`);
  }
  if (now < Date.parse(cert.notBefore)) throw new DrmError('bad-certificate', `certificate ${cert.id} is not valid before ${cert.notBefore}`);
  if (now > Date.parse(cert.notAfter)) throw new DrmError('bad-certificate', `certificate ${cert.id} expired at ${cert.notAfter}`);
  if (opts.roles && !opts.roles.includes(cert.role)) {
    throw new DrmError('bad-certificate', `certificate ${cert.id} has role ${cert.role}; expected ${opts.roles.join(' or ')}`);
  }
  return cert;
}

/** A CA certificate checked against itself (self-signed). */
export function verifyCaCertificate(v: unknown): Certificate {
  const c = parseCertificate(v, 'CA certificate');
  if (c.role !== 'ca') throw new DrmError('bad-certificate', `certificate ${c.id} is not a CA certificate (role ${c.role})`);
  return verifyCertificate(c, c);
}
