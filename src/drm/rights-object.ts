// Rights objects (OMA DRM v2 model, JSON instead of ODRL XML; see docs/drm.md#rights-objects).
//   { v: 1, id: 'ro-…', contentId, issuer: RI id, issuedAt (ISO),
//     permission: { play: { count?, intervalS?, notBefore?, notAfter? } },
//     binding: { kind: 'device', id: dev-… } | { kind: 'domain', id: dom-…, generation },
//     key: WrappedKey (content key wrapped to the device's or the domain's X25519 key,
//          context "ro:<id>:<contentId>"), sig }
// `sig` is Ed25519 by the rights issuer over "superdist/rights-object/v1\0" + canonical JSON of
// the rest; the RI's certificate (issued by the operator CA) travels with the RO.
import { randomBytes, type KeyObject } from 'node:crypto';
import { asObject, asString, DrmError } from './encoding.js';
import { signJson, verifyJson } from './keys.js';
import { wrapKey, type WrappedKey } from './key-wrap.js';
import { verifyCertificate, type Certificate } from './certificate.js';

export interface PlayConstraints {
  /** Plays allowed in all (a play = starting a file or a channel). */
  count?: number;
  /** Seconds of validity from the first play. */
  intervalS?: number;
  notBefore?: string;
  notAfter?: string;
}

export type Binding = { kind: 'device'; id: string } | { kind: 'domain'; id: string; generation: number };

export interface RightsObject {
  v: 1;
  id: string;
  contentId: string;
  issuer: string;
  issuedAt: string;
  permission: { play: PlayConstraints };
  binding: Binding;
  key: WrappedKey;
  sig: string;
}

export function keyContext(roId: string, contentId: string): string {
  return `ro:${roId}:${contentId}`;
}

/** Checks and normalises constraints from a packager or a request; a clear error on bad values. */
export function parseConstraints(v: unknown, what = 'constraints'): PlayConstraints {
  const o = v === undefined ? {} : asObject(v, what);
  const out: PlayConstraints = {};
  for (const k of Object.keys(o)) if (!['count', 'intervalS', 'notBefore', 'notAfter'].includes(k)) throw new DrmError('bad-format', `${what}: unknown constraint ${JSON.stringify(k)} (count, intervalS, notBefore, notAfter)`);
  for (const k of ['count', 'intervalS'] as const) {
    if (o[k] === undefined) continue;
    const n = o[k];
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) throw new DrmError('bad-format', `${what}.${k}: expected a whole number >= 1, got ${JSON.stringify(n)}`);
    out[k] = n;
  }
  for (const k of ['notBefore', 'notAfter'] as const) {
    if (o[k] === undefined) continue;
    const s = o[k];
    if (typeof s !== 'string' || Number.isNaN(Date.parse(s))) throw new DrmError('bad-format', `${what}.${k}: expected an ISO 8601 date-time, got ${JSON.stringify(s)}`);
    out[k] = new Date(s).toISOString();
  }
  return out;
}

export function issueRightsObject(
  o: { contentId: string; contentKey: Uint8Array; constraints: PlayConstraints; binding: Binding; recipientWrapKey: string },
  ri: { id: string; privateKey: KeyObject },
): RightsObject {
  const id = `ro-${randomBytes(12).toString('hex')}`;
  const body = {
    v: 1 as const,
    id,
    contentId: o.contentId,
    issuer: ri.id,
    issuedAt: new Date().toISOString(),
    permission: { play: o.constraints },
    binding: o.binding,
    key: wrapKey(o.contentKey, o.recipientWrapKey, keyContext(id, o.contentId)),
  };
  return { ...body, sig: signJson('rights-object', body, ri.privateKey) };
}

/** Shape, issuer certificate (against the CA) and signature. Throws DrmError naming the failure. */
export function verifyRightsObject(roIn: unknown, riCertIn: unknown, ca: Certificate): { ro: RightsObject; riCert: Certificate } {
  const o = asObject(roIn, 'rights object');
  if (o.v !== 1) throw new DrmError('bad-format', `rights object: unknown version ${JSON.stringify(o.v)}`);
  const id = asString(o.id, 'rights object id');
  asString(o.contentId, `rights object ${id}: contentId`);
  asObject(o.permission, `rights object ${id}: permission`);
  parseConstraints(asObject(o.permission, 'permission').play, `rights object ${id}: permission.play`);
  const b = asObject(o.binding, `rights object ${id}: binding`);
  if (b.kind !== 'device' && b.kind !== 'domain') throw new DrmError('bad-format', `rights object ${id}: unknown binding ${JSON.stringify(b.kind)}`);
  const riCert = verifyCertificate(riCertIn, ca, { roles: ['ri'] });
  if (o.issuer !== riCert.id) throw new DrmError('bad-signature', `rights object ${id} names issuer ${String(o.issuer)} but came with the certificate of ${riCert.id}`);
  const { sig, ...body } = o;
  if (!verifyJson('rights-object', body, sig, riCert.signKey)) {
    throw new DrmError('bad-signature', `rights object ${id}: the rights issuer's signature does not verify (tampered rights object)`);
  }
  return { ro: o as unknown as RightsObject, riCert };
}
