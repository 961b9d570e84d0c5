// A domain's key as a member holds it: the domain X25519 private key wrapped to the member's own
// wrapping key (context "domain:<id>:<generation>"), signed by the rights issuer.
//   { v: 1, domainId, generation, publicKey, member: dev-…, key: WrappedKey, issuer, sig }
import type { KeyObject } from 'node:crypto';
import { asObject, asString, DrmError } from './encoding.js';
import { signJson, verifyJson } from './keys.js';
import { wrapKey, type WrappedKey } from './key-wrap.js';
import { verifyCertificate, type Certificate } from './certificate.js';

export interface DomainKeyGrant {
  v: 1;
  domainId: string;
  generation: number;
  publicKey: string;
  member: string;
  key: WrappedKey;
  issuer: string;
  sig: string;
}

export function domainContext(domainId: string, generation: number): string {
  return `domain:${domainId}:${generation}`;
}

export function grantDomainKey(o: { domainId: string; generation: number; publicKey: string; domainPrivateDer: Uint8Array; member: Certificate }, ri: { id: string; privateKey: KeyObject }): DomainKeyGrant {
  if (!o.member.wrapKey) throw new DrmError('bad-certificate', `certificate ${o.member.id} has no wrapping key`);
  const body = {
    v: 1 as const,
    domainId: o.domainId,
    generation: o.generation,
    publicKey: o.publicKey,
    member: o.member.id,
    key: wrapKey(o.domainPrivateDer, o.member.wrapKey, domainContext(o.domainId, o.generation)),
    issuer: ri.id,
  };
  return { ...body, sig: signJson('domain-key', body, ri.privateKey) };
}

export function verifyDomainGrant(gIn: unknown, riCertIn: unknown, ca: Certificate, selfId: string): DomainKeyGrant {
  const g = asObject(gIn, 'domain key');
  asString(g.domainId, 'domain key domainId');
  const riCert = verifyCertificate(riCertIn, ca, { roles: ['ri'] });
  const { sig, ...body } = g;
  if (g.issuer !== riCert.id || !verifyJson('domain-key', body, sig, riCert.signKey)) {
    throw new DrmError('bad-signature', `domain key for ${String(g.domainId)}: the rights issuer's signature does not verify (tampered)`);
  }
  if (g.member !== selfId) throw new DrmError('wrong-device', `domain key for ${String(g.domainId)} was issued to ${String(g.member)}, this device is ${selfId}`);
  return g as unknown as DomainKeyGrant;
}
