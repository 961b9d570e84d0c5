// The rights issuer's logic, transport-free (ri-server.ts puts it on HTTP): device registration,
// content-key registration by packagers, rights-object issuance bound to a device or a domain,
// domains (create, join approved by the owner, leave with key rotation). State behind the RiStore
// port (ri-store.ts): the embedded journal by default, PostgreSQL for several RI processes.
import { createPrivateKey, randomBytes } from 'node:crypto';
import type { Certificate } from './certificate.js';
import { b64u, DrmError, fromB64u, asString } from './encoding.js';
import { grantDomainKey, type DomainKeyGrant } from './domain-key.js';
import { generateKeyPair, privateKeyToPem, type KeyPair } from './keys.js';
import { unwrapKey } from './key-wrap.js';
import { caIssue, loadCa } from './operator-ca.js';
import { JournalRiStore } from './ri-journal-store.js';
import type { RiEnrol, RiKeys, RiStats, RiStore } from './ri-store.js';
import { issueRightsObject, parseConstraints, type RightsObject } from './rights-object.js';
import { verifyRequest } from './signed-request.js';
import { CONTENT_KEY_BYTES } from './content-cipher.js';

export const NONCE_TTL_MS = 10 * 60_000;
export const DEFAULT_DOMAIN_MAX = 8;

/** The embedded default: the journal database in `dbDir`. */
export interface RiOptions {
  dbDir: string;
  /** CA directory: needed on first start only, to issue the RI's certificate. */
  caDir?: string;
  name?: string;
  /** Upper bound for any domain's size. */
  domainMaxSize?: number;
  onWarning?: (m: string) => void;
}

/** Any store (RightsIssuer.open): e.g. PostgreSQL shared by several RI processes. */
export interface RiStoreOptions {
  store: RiStore;
  caDir?: string;
  name?: string;
  domainMaxSize?: number;
}

/** Makes the RI certificate for fresh keys from the operator CA in `caDir`. */
export function enrolWithCa(where: string, caDir: string | undefined, name: string | undefined): RiEnrol {
  return (sign: KeyPair, wrap: KeyPair) => {
    if (!caDir) throw new DrmError('not-enrolled', `the rights issuer in ${where} has no certificate yet: start it once with --ca DIR (the operator CA)`);
    const ca = loadCa(caDir);
    return { ca: ca.cert, cert: caIssue(ca, { role: 'ri', name: name ?? 'rights issuer', signKey: sign.publicKey, wrapKey: wrap.publicKey }) };
  };
}

export class RightsIssuer {
  readonly ca: Certificate;
  readonly cert: Certificate;
  private readonly keys: RiKeys;
  private readonly store: RiStore;
  private readonly domainMax: number;

  /** The journal RI in `o.dbDir` (synchronous); RightsIssuer.open for any other store. */
  constructor(o: RiOptions | { store: RiStore; keys: RiKeys; domainMaxSize?: number }) {
    if ('dbDir' in o) {
      const store = new JournalRiStore(o.dbDir, NONCE_TTL_MS, o.onWarning);
      try {
        this.keys = store.loadIdentitySync(enrolWithCa(o.dbDir, o.caDir, o.name));
      } catch (err) {
        void store.close();
        throw err;
      }
      this.store = store;
    } else {
      this.store = o.store;
      this.keys = o.keys;
    }
    this.ca = this.keys.ca;
    this.cert = this.keys.cert;
    this.domainMax = o.domainMaxSize ?? DEFAULT_DOMAIN_MAX;
  }

  static async open(o: RiStoreOptions): Promise<RightsIssuer> {
    const keys = await o.store.loadIdentity(enrolWithCa(o.store.describe, o.caDir, o.name));
    return new RightsIssuer({ store: o.store, keys, ...(o.domainMaxSize !== undefined ? { domainMaxSize: o.domainMaxSize } : {}) });
  }

  get storeName(): string {
    return this.store.describe;
  }

  private get signer() {
    return { id: this.cert.id, privateKey: this.keys.sign.privateKey };
  }

  private verify(req: unknown, path: string, role: 'device' | 'packager') {
    return verifyRequest(req, path, this.ca, this.store, [role]);
  }

  info(): { ri: Certificate; ca: Certificate } {
    return { ri: this.cert, ca: this.ca };
  }

  async nonce(): Promise<{ nonce: string; expiresInS: number }> {
    return { nonce: await this.store.issueNonce(), expiresInS: NONCE_TTL_MS / 1000 };
  }

  async register(req: unknown): Promise<{ deviceId: string; ri: Certificate }> {
    const { cert } = await this.verify(req, '/v1/register', 'device');
    await this.store.putDevice(cert, new Date().toISOString());
    return { deviceId: cert.id, ri: this.cert };
  }

  async registerContent(req: unknown): Promise<{ contentId: string }> {
    const { cert, body } = await this.verify(req, '/v1/content', 'packager');
    const contentId = asString(body.contentId, 'contentId');
    if (!/^(sdc-[0-9a-f]{32}|live-[0-9a-f]{64})$/.test(contentId)) throw new DrmError('bad-format', `contentId ${JSON.stringify(contentId)}: expected sdc-<32 hex> or live-<64 hex>`);
    const key = unwrapKey(body.key, this.keys.wrap.privateKey, `content:${contentId}`);
    if (key.length !== CONTENT_KEY_BYTES) throw new DrmError('bad-key', `content key for ${contentId}: expected ${CONTENT_KEY_BYTES} bytes`);
    const constraints = parseConstraints(body.constraints, `constraints of ${contentId}`);
    await this.store.putContent(contentId, { key: b64u(key), constraints, packager: cert.id, registeredAt: new Date().toISOString() });
    return { contentId };
  }

  /** One accepted request, one new RO: recorded (with the request's nonce) before it is answered. */
  async acquire(req: unknown): Promise<{ ro: RightsObject; ri: Certificate }> {
    const { cert, body, nonce } = await this.verify(req, '/v1/ro', 'device');
    if (!(await this.store.device(cert.id))) throw new DrmError('not-registered', `device ${cert.id} is not registered with this rights issuer: register first`);
    const contentId = asString(body.contentId, 'contentId');
    const content = await this.store.content(contentId);
    if (!content) throw new DrmError('unknown-content', `no content key registered for ${contentId}`);
    let binding: RightsObject['binding'];
    let recipient: string;
    if (body.domainId !== undefined) {
      const domainId = asString(body.domainId, 'domainId');
      const d = await this.store.domain(domainId);
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
    await this.store.recordRo({ roId: ro.id, nonce, contentId, binding, at: ro.issuedAt });
    return { ro, ri: this.cert };
  }

  async createDomain(req: unknown): Promise<{ domainId: string; maxSize: number }> {
    const { cert, body } = await this.verify(req, '/v1/domain/create', 'device');
    const cap = this.domainMax;
    const want = body.maxSize === undefined ? cap : body.maxSize;
    if (typeof want !== 'number' || !Number.isInteger(want) || want < 1) throw new DrmError('bad-format', `maxSize: expected a whole number >= 1, got ${JSON.stringify(want)}`);
    const kp = generateKeyPair('x25519');
    const domainId = `dom-${randomBytes(8).toString('hex')}`;
    const row = { owner: cert.id, name: typeof body.name === 'string' ? body.name.slice(0, 64) : '', maxSize: Math.min(want, cap), generation: 1, keyPem: privateKeyToPem(kp.privateKey), publicKey: kp.publicKey, members: [] as string[] };
    await this.store.createDomain(domainId, row);
    return { domainId, maxSize: row.maxSize };
  }

  /** Owner-approved join: the owner's request carries the device's own signed join request. */
  async joinDomain(req: unknown): Promise<{ grant: DomainKeyGrant; ri: Certificate }> {
    const outer = await this.verify(req, '/v1/domain/join', 'device');
    const domainId = asString(outer.body.domainId, 'domainId');
    const d = await this.store.domain(domainId);
    if (!d) throw new DrmError('unknown-domain', `no domain ${domainId}`);
    if (d.owner !== outer.cert.id) throw new DrmError('not-owner', `${outer.cert.id} is not the owner of domain ${domainId}; only the owner approves joins`);
    const inner = await this.verify(outer.body.request, '/v1/domain/join-request', 'device');
    if (inner.body.domainId !== domainId) throw new DrmError('bad-format', `the device asked to join ${String(inner.body.domainId)}, not ${domainId}`);
    const member = inner.cert;
    // The size check and the insert are one step in the store (two RI processes cannot both fill the last place).
    await this.store.joinDomain(domainId, member.id);
    if (!(await this.store.device(member.id))) await this.store.putDevice(member, new Date().toISOString());
    return { grant: await this.grant(domainId, member), ri: this.cert };
  }

  /** A member (or the owner for any member) leaves; the domain key is rotated for the others. */
  async leaveDomain(req: unknown): Promise<{ left: string; generation: number }> {
    const { cert, body } = await this.verify(req, '/v1/domain/leave', 'device');
    const domainId = asString(body.domainId, 'domainId');
    const d = await this.store.domain(domainId);
    if (!d) throw new DrmError('unknown-domain', `no domain ${domainId}`);
    const who = typeof body.deviceId === 'string' && cert.id === d.owner ? body.deviceId : cert.id;
    if (!d.members.includes(who)) throw new DrmError('not-member', `device ${who} is not a member of domain ${domainId}`);
    const kp = generateKeyPair('x25519');
    const generation = await this.store.leaveDomain(domainId, who, { keyPem: privateKeyToPem(kp.privateKey), publicKey: kp.publicKey });
    return { left: who, generation };
  }

  /** The current domain key for a member (after a rotation). */
  async domainKey(req: unknown): Promise<{ grant: DomainKeyGrant; ri: Certificate }> {
    const { cert, body } = await this.verify(req, '/v1/domain/key', 'device');
    const domainId = asString(body.domainId, 'domainId');
    const d = await this.store.domain(domainId);
    if (!d) throw new DrmError('unknown-domain', `no domain ${domainId}`);
    if (!d.members.includes(cert.id)) throw new DrmError('not-member', `device ${cert.id} is not a member of domain ${domainId}`);
    return { grant: await this.grant(domainId, cert), ri: this.cert };
  }

  private async grant(domainId: string, member: Certificate): Promise<DomainKeyGrant> {
    const d = (await this.store.domain(domainId))!;
    const der = createPrivateKey(d.keyPem).export({ format: 'der', type: 'pkcs8' });
    return grantDomainKey({ domainId, generation: d.generation, publicKey: d.publicKey, domainPrivateDer: der, member }, this.signer);
  }

  stats(): Promise<RiStats> {
    return this.store.stats();
  }

  close(): Promise<void> {
    return this.store.close();
  }
}
