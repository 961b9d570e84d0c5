// The main node as domain manager (OMA DRM v2 domains, thesis §4.3): it owns one domain at the
// rights issuer; local nodes' join requests (signed by the joining device over an RI nonce) wait
// here until the owner approves or denies them (superdist drm pending / approve / deny, control
// methods drm.pending / drm.approve / drm.deny). An approved request goes to the RI inside a
// request signed by the owner; the RI checks both and the domain's maximum size, and answers with
// the domain key wrapped to the joining device, which the device collects from the proxy.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { readJsonFile, writeJsonAtomic } from './atomic-file.js';
import { verifyCertificate, type Certificate } from './certificate.js';
import { requireEnrolled, type DeviceIdentity } from './device-identity.js';
import type { DomainKeyGrant } from './domain-key.js';
import { asObject, asString, DrmError } from './encoding.js';
import { verifyJson } from './keys.js';
import { RiClient } from './ri-client.js';
import type { SignedRequest } from './signed-request.js';

export interface PendingJoin {
  id: string;
  deviceId: string;
  name: string;
  requestedAt: string;
}

export type JoinOutcome =
  | { state: 'pending' }
  | { state: 'approved'; grant: DomainKeyGrant; ri: Certificate }
  | { state: 'denied'; reason: string };

interface Persisted {
  domainId?: string;
  maxSize?: number;
  pending: (PendingJoin & { request: SignedRequest })[];
  decided: Record<string, JoinOutcome>;
}

export class DomainManager {
  private readonly file: string;
  private readonly st: Persisted;

  constructor(
    private readonly o: { identity: DeviceIdentity; upstream: () => string; maxSize: number; name: string },
  ) {
    this.file = join(o.identity.dir, 'domain-manager.json');
    this.st = (readJsonFile(this.file) as Persisted | undefined) ?? { pending: [], decided: {} };
  }

  private save(): void {
    writeJsonAtomic(this.file, this.st);
  }

  private client(): RiClient {
    const url = this.o.upstream();
    if (!url) throw new DrmError('bad-usage', 'the main node has no rights issuer configured (drm.rightsIssuer)');
    return new RiClient(url, requireEnrolled(this.o.identity));
  }

  get domainId(): string | undefined {
    return this.st.domainId;
  }

  /** The managed domain, created at the RI on first use. */
  async ensureDomain(): Promise<string> {
    if (this.st.domainId) return this.st.domainId;
    const d = await this.client().createDomain(this.o.name, this.o.maxSize);
    this.st.domainId = d.domainId;
    this.st.maxSize = d.maxSize;
    this.save();
    return d.domainId;
  }

  /** A local node's join request: checked (certificate, signature, domain) and queued for the owner. */
  async request(reqIn: unknown, name: unknown): Promise<{ id: string; state: 'pending' }> {
    const domainId = await this.ensureDomain();
    const id = requireEnrolled(this.o.identity);
    const r = asObject(reqIn, 'join request');
    const cert = verifyCertificate(r.cert, id.ca, { roles: ['device'] });
    const body = asObject(r.body, 'join request body');
    if (!verifyJson('request', { path: '/v1/domain/join-request', nonce: asString(r.nonce, 'nonce'), body }, r.sig, cert.signKey)) {
      throw new DrmError('bad-signature', `join request of ${cert.id}: signature does not verify`);
    }
    if (body.domainId !== domainId) throw new DrmError('unknown-domain', `this main node manages domain ${domainId}, not ${String(body.domainId)}`);
    const pid = `join-${randomBytes(6).toString('hex')}`;
    const label = typeof name === 'string' && name ? name.slice(0, 64) : cert.name;
    this.st.pending.push({ id: pid, deviceId: cert.id, name: label, requestedAt: new Date().toISOString(), request: r as unknown as SignedRequest });
    this.save();
    return { id: pid, state: 'pending' };
  }

  pending(): PendingJoin[] {
    return this.st.pending.map(({ id, deviceId, name, requestedAt }) => ({ id, deviceId, name, requestedAt }));
  }

  private take(id: string): PendingJoin & { request: SignedRequest } {
    const i = this.st.pending.findIndex((p) => p.id === id);
    if (i < 0) throw new DrmError('not-found', `no pending join request ${JSON.stringify(id)} (see superdist drm pending)`);
    return this.st.pending[i]!;
  }

  async approve(id: string): Promise<{ approved: string; deviceId: string; domainId: string }> {
    const p = this.take(id);
    const domainId = await this.ensureDomain();
    const got = await this.client().post<{ grant: DomainKeyGrant; ri: Certificate }>('/v1/domain/join', { domainId, request: p.request });
    this.st.pending = this.st.pending.filter((x) => x.id !== id);
    this.st.decided[id] = { state: 'approved', grant: got.grant, ri: got.ri };
    this.save();
    return { approved: id, deviceId: p.deviceId, domainId };
  }

  deny(id: string): { denied: string; deviceId: string } {
    const p = this.take(id);
    this.st.pending = this.st.pending.filter((x) => x.id !== id);
    this.st.decided[id] = { state: 'denied', reason: `the owner of domain ${this.st.domainId ?? '?'} denied the join request ${id}` };
    this.save();
    return { denied: id, deviceId: p.deviceId };
  }

  outcome(id: string): JoinOutcome {
    if (this.st.pending.some((p) => p.id === id)) return { state: 'pending' };
    const d = this.st.decided[id];
    if (!d) throw new DrmError('not-found', `no join request ${JSON.stringify(id)}`);
    return d;
  }

  /** Devices the owner approved (the proxy relays rights requests for these only). */
  approvedDevices(): Set<string> {
    const out = new Set<string>();
    for (const d of Object.values(this.st.decided)) if (d.state === 'approved') out.add(d.grant.member);
    return out;
  }

  status(): { domainId: string | null; maxSize: number; pending: number; approved: number; denied: number } {
    const decided = Object.values(this.st.decided);
    return { domainId: this.st.domainId ?? null, maxSize: this.st.maxSize ?? this.o.maxSize, pending: this.st.pending.length, approved: decided.filter((d) => d.state === 'approved').length, denied: decided.filter((d) => d.state === 'denied').length };
  }
}
