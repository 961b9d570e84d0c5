// The rights issuer's logic, transport-free (ri-server.ts puts it on HTTP): device registration,
// content-key registration by packagers, rights-object issuance bound to a device or a domain,
// domains (create, join approved by the owner, leave with key rotation). State in a JournalDb.
import { createPrivateKey, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readJsonFile, writeJsonAtomic } from './atomic-file.js';
import { verifyCaCertificate, verifyCertificate, type Certificate } from './certificate.js';
import { b64u, DrmError, fromB64u, asString } from './encoding.js';
import { loadOrCreateIdentity, type DeviceIdentity } from './device-identity.js';
import { grantDomainKey, type DomainKeyGrant } from './domain-key.js';
import { JournalDb } from './journal-db.js';
import { generateKeyPair, privateKeyToPem } from './keys.js';
import { unwrapKey } from './key-wrap.js';
import { caIssue, loadCa } from './operator-ca.js';
import { applyRiRecord, emptyRiState, type RiRecord, type RiState } from './ri-state.js';
import { issueRightsObject, parseConstraints, type RightsObject } from './rights-object.js';
import { NonceBook, verifyRequest } from './signed-request.js';
import { CONTENT_KEY_BYTES } from './content-cipher.js';

export const NONCE_TTL_MS = 10 * 60_000;
export const DEFAULT_DOMAIN_MAX = 8;

export interface RiOptions {
  dbDir: string;
  /** CA directory: needed on first start only, to issue the RI's certificate. */
  caDir?: string;
  name?: string;
  /** Upper bound for any domain's size. */
  domainMaxSize?: number;
  onWarning?: (m: string) => void;
}

export class RightsIssuer {
  readonly ca: Certificate;
  readonly cert: Certificate;
  private readonly id: DeviceIdentity;
  private readonly db: JournalDb<RiState, RiRecord>;
  readonly nonces = new NonceBook(NONCE_TTL_MS);

  constructor(private readonly o: RiOptions) {
    const idDir = join(o.dbDir, 'identity');
    this.id = loadOrCreateIdentity(idDir);
    const caFile = join(this.id.dir, 'ca.cert.json');
    const certFile = join(this.id.dir, 'cert.json');
    if (!existsSync(certFile)) {
      if (!o.caDir) throw new DrmError('not-enrolled', `the rights issuer in ${o.dbDir} has no certificate yet: start it once with --ca DIR (the operator CA)`);
      const ca = loadCa(o.caDir);
      writeJsonAtomic(caFile, ca.cert);
      writeJsonAtomic(certFile, caIssue(ca, { role: 'ri', name: o.name ?? 'rights issuer', signKey: this.id.sign.publicKey, wrapKey: this.id.wrap.publicKey }));
    }
    this.ca = verifyCaCertificate(readJsonFile(caFile));
    this.cert = verifyCertificate(readJsonFile(certFile), this.ca, { roles: ['ri'] });
    this.db = new JournalDb<RiState, RiRecord>({ dir: join(o.dbDir, 'db'), empty: emptyRiState, apply: applyRiRecord, ...(o.onWarning ? { onWarning: o.onWarning } : {}) });
  }

  private get signer() {
    return { id: this.cert.id, privateKey: this.id.sign.privateKey };
  }

  info(): { ri: Certificate; ca: Certificate } {
    return { ri: this.cert, ca: this.ca };
  }

  nonce(): { nonce: string; expiresInS: number } {
    return { nonce: this.nonces.issue(), expiresInS: NONCE_TTL_MS / 1000 };
  }

  register(req: unknown): { deviceId: string; ri: Certificate } {
    const { cert } = verifyRequest(req, '/v1/register', this.ca, this.nonces, ['device']);
    this.db.append({ t: 'device', cert, at: new Date().toISOString() });
    return { deviceId: cert.id, ri: this.cert };
  }

  registerContent(req: unknown): { contentId: string } {
    const { cert, body } = verifyRequest(req, '/v1/content', this.ca, this.nonces, ['packager']);
    const contentId = asString(body.contentId, 'contentId');
    if (!/^(sdc-[0-9a-f]{32}|live-[0-9a-f]{64})$/.test(contentId)) throw new DrmError('bad-format', `contentId ${JSON.stringify(contentId)}: expected sdc-<32 hex> or live-<64 hex>`);
    const key = unwrapKey(body.key, this.id.wrap.privateKey, `content:${contentId}`);
    if (key.length !== CONTENT_KEY_BYTES) throw new DrmError('bad-key', `content key for ${contentId}: expected ${CONTENT_KEY_BYTES} bytes`);
    const constraints = parseConstraints(body.constraints, `constraints of ${contentId}`);
    const old = this.db.state.contents[contentId];
    if (old && old.packager !== cert.id) throw new DrmError('conflict', `content ${contentId} is registered by another packager (${old.packager})`);
    if (old && old.key !== b64u(key)) throw new DrmError('conflict', `content ${contentId} is already registered with another key`);
    this.db.append({ t: 'content', contentId, key: b64u(key), constraints, packager: cert.id, at: new Date().toISOString() });
    return { contentId };
  }

  acquire(req: unknown): { ro: RightsObject; ri: Certificate } {
    const { cert, body } = verifyRequest(req, '/v1/ro', this.ca, this.nonces, ['device']);
    const st = this.db.state;
    if (!st.devices[cert.id]) throw new DrmError('not-registered', `device ${cert.id} is not registered with this rights issuer: register first`);
    const contentId = asString(body.contentId, 'contentId');
    const content = st.contents[contentId];
    if (!content) throw new DrmError('unknown-content', `no content key registered for ${contentId}`);
    let binding: RightsObject['binding'];
    let recipient: string;
    if (body.domainId !== undefined) {
      const domainId = asString(body.domainId, 'domainId');
      const d = st.domains[domainId];
      if (!d) throw new DrmError('unknown-domain', `no domain ${domainId}`);
      if (!d.members.includes(cert.id)) throw new DrmError('not-member', `device ${cert.id} is not a member of domain ${domainId}`);
      binding = { kind: 'domain', id: domainId, generation: d.generation };
      recipient = d.publicKey;
    } else {
      if (!cert.wrapKey) throw new DrmError('bad-certificate', `certificate ${cert.id} has no wrapping key`);
      binding = { kind: 'device', id: cert.id };
      recipient = cert.wrapKey;
    }
    const ro = issueRightsObject({ contentId, contentKey: fromB64u(content.key, 'content key'), constraints: content.constraints, binding, recipientWrapKey: recipient }, this.signer);
    this.db.append({ t: 'ro', roId: ro.id, contentId, to: binding.id, at: ro.issuedAt });
    return { ro, ri: this.cert };
  }

  createDomain(req: unknown): { domainId: string; maxSize: number } {
    const { cert, body } = verifyRequest(req, '/v1/domain/create', this.ca, this.nonces, ['device']);
    const cap = this.o.domainMaxSize ?? DEFAULT_DOMAIN_MAX;
    const want = body.maxSize === undefined ? cap : body.maxSize;
    if (typeof want !== 'number' || !Number.isInteger(want) || want < 1) throw new DrmError('bad-format', `maxSize: expected a whole number >= 1, got ${JSON.stringify(want)}`);
    const kp = generateKeyPair('x25519');
    const domainId = `dom-${randomBytes(8).toString('hex')}`;
    const row = { owner: cert.id, name: typeof body.name === 'string' ? body.name.slice(0, 64) : '', maxSize: Math.min(want, cap), generation: 1, keyPem: privateKeyToPem(kp.privateKey), publicKey: kp.publicKey, members: [] as string[] };
    this.db.append({ t: 'domain', id: domainId, row });
    return { domainId, maxSize: row.maxSize };
  }

  /** Owner-approved join: the owner's request carries the device's own signed join request. */
  joinDomain(req: unknown): { grant: DomainKeyGrant; ri: Certificate } {
    const outer = verifyRequest(req, '/v1/domain/join', this.ca, this.nonces, ['device']);
    const domainId = asString(outer.body.domainId, 'domainId');
    const d = this.db.state.domains[domainId];
    if (!d) throw new DrmError('unknown-domain', `no domain ${domainId}`);
    if (d.owner !== outer.cert.id) throw new DrmError('not-owner', `${outer.cert.id} is not the owner of domain ${domainId}; only the owner approves joins`);
    const inner = verifyRequest(outer.body.request, '/v1/domain/join-request', this.ca, this.nonces, ['device']);
    if (inner.body.domainId !== domainId) throw new DrmError('bad-format', `the device asked to join ${String(inner.body.domainId)}, not ${domainId}`);
    const member = inner.cert;
    if (!d.members.includes(member.id) && d.members.length >= d.maxSize) {
      throw new DrmError('domain-full', `domain ${domainId} is full (${d.members.length} of ${d.maxSize} devices)`);
    }
    if (!this.db.state.devices[member.id]) this.db.append({ t: 'device', cert: member, at: new Date().toISOString() });
    if (!d.members.includes(member.id)) this.db.append({ t: 'member', domainId, deviceId: member.id, join: true });
    return { grant: this.grant(domainId, member), ri: this.cert };
  }

  /** A member (or the owner for any member) leaves; the domain key is rotated for the others. */
  leaveDomain(req: unknown): { left: string; generation: number } {
    const { cert, body } = verifyRequest(req, '/v1/domain/leave', this.ca, this.nonces, ['device']);
    const domainId = asString(body.domainId, 'domainId');
    const d = this.db.state.domains[domainId];
    if (!d) throw new DrmError('unknown-domain', `no domain ${domainId}`);
    const who = typeof body.deviceId === 'string' && cert.id === d.owner ? body.deviceId : cert.id;
    if (!d.members.includes(who)) throw new DrmError('not-member', `device ${who} is not a member of domain ${domainId}`);
    const kp = generateKeyPair('x25519');
    this.db.append({ t: 'member', domainId, deviceId: who, join: false, generation: d.generation + 1, keyPem: privateKeyToPem(kp.privateKey), publicKey: kp.publicKey });
    return { left: who, generation: d.generation };
  }

  /** The current domain key for a member (after a rotation). */
  domainKey(req: unknown): { grant: DomainKeyGrant; ri: Certificate } {
    const { cert, body } = verifyRequest(req, '/v1/domain/key', this.ca, this.nonces, ['device']);
    const domainId = asString(body.domainId, 'domainId');
    const d = this.db.state.domains[domainId];
    if (!d) throw new DrmError('unknown-domain', `no domain ${domainId}`);
    if (!d.members.includes(cert.id)) throw new DrmError('not-member', `device ${cert.id} is not a member of domain ${domainId}`);
    return { grant: this.grant(domainId, cert), ri: this.cert };
  }

  private grant(domainId: string, member: Certificate): DomainKeyGrant {
    const d = this.db.state.domains[domainId]!;
    const der = createPrivateKey(d.keyPem).export({ format: 'der', type: 'pkcs8' });
    return grantDomainKey({ domainId, generation: d.generation, publicKey: d.publicKey, domainPrivateDer: der, member }, this.signer);
  }

  stats(): { devices: number; contents: number; domains: number; rosIssued: number } {
    const s = this.db.state;
    return { devices: Object.keys(s.devices).length, contents: Object.keys(s.contents).length, domains: Object.keys(s.domains).length, rosIssued: s.rosIssued };
  }

  close(): void {
    this.db.close();
  }
}
