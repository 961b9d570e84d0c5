// The DRM agent of a node: installs rights objects after checking the RI's certificate (against
// the operator CA), the RO's signature, its binding (this device, or a domain this device holds
// the key of) and that its key unwraps; decides whether a content may play (constraints, durable
// play counters) and hands out the content key only to the player path. Relaying and storing
// never come here.
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { consume, evaluate } from './constraints.js';
import { AgentStore, type StoredRo } from './agent-store.js';
import { loadOrCreateIdentity, requireEnrolled, type DeviceIdentity } from './device-identity.js';
import { domainContext, verifyDomainGrant } from './domain-key.js';
import { DrmError } from './encoding.js';
import { unwrapKey } from './key-wrap.js';
import { RiClient } from './ri-client.js';
import { keyContext, verifyRightsObject, type RightsObject } from './rights-object.js';
import type { Certificate } from './certificate.js';

export type RightsState =
  | { state: 'allowed'; roId: string; remaining: number | null; expiresAt: string | null }
  | { state: 'preview-only'; reason: string };

/** A play in progress: the content key, and a check that playback may go on (expiry). */
export interface PlayGrant {
  roId: string;
  key: Buffer;
  /** undefined while the permission holds; the reason once it stopped. */
  check(now?: number): string | undefined;
}

export class DrmAgent {
  readonly identity: DeviceIdentity;
  private readonly store: AgentStore;

  constructor(stateDir: string) {
    this.identity = loadOrCreateIdentity(stateDir);
    this.store = new AgentStore(this.identity.dir);
  }

  get deviceId(): string | undefined {
    return this.identity.cert?.id;
  }

  /** Checks and stores a rights object; throws DrmError naming why it is refused. */
  install(roIn: unknown, riCertIn: unknown): RightsObject {
    const id = requireEnrolled(this.identity);
    const { ro, riCert } = verifyRightsObject(roIn, riCertIn, id.ca);
    this.unwrap(ro);
    this.store.saveRo({ ro, ri: riCert });
    return ro;
  }

  installDomainKey(grantIn: unknown, riCertIn: unknown): string {
    const id = requireEnrolled(this.identity);
    const grant = verifyDomainGrant(grantIn, riCertIn, id.ca, id.cert.id);
    unwrapKey(grant.key, id.wrap.privateKey, domainContext(grant.domainId, grant.generation));
    this.store.saveDomain({ grant, ri: riCertIn as Certificate });
    return grant.domainId;
  }

  domains(): { domainId: string; generation: number }[] {
    return this.store.domains().map((d) => ({ domainId: d.grant.domainId, generation: d.grant.generation }));
  }

  /** The key that opens `ro`: this device's wrapping key, or the domain key it holds. */
  private recipientKey(ro: RightsObject): KeyObject {
    const id = requireEnrolled(this.identity);
    if (ro.binding.kind === 'device') {
      if (ro.binding.id !== id.cert.id) throw new DrmError('wrong-device', `rights object ${ro.id} is bound to device ${ro.binding.id}; this device is ${id.cert.id}`);
      return id.wrap.privateKey;
    }
    const d = this.store.domain(ro.binding.id);
    if (!d) throw new DrmError('not-member', `rights object ${ro.id} is bound to domain ${ro.binding.id}, which this device (${id.cert.id}) has not joined`);
    if (d.grant.generation !== ro.binding.generation) {
      throw new DrmError('stale-domain-key', `rights object ${ro.id} needs key generation ${ro.binding.generation} of domain ${ro.binding.id}; this device holds generation ${d.grant.generation}`);
    }
    const der = unwrapKey(d.grant.key, id.wrap.privateKey, domainContext(d.grant.domainId, d.grant.generation));
    return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  }

  private unwrap(ro: RightsObject): Buffer {
    return unwrapKey(ro.key, this.recipientKey(ro), keyContext(ro.id, ro.contentId));
  }

  private candidates(contentId: string): StoredRo[] {
    return this.store.ros().filter((s) => s.ro.contentId === contentId);
  }

  /** Whether a new play of `contentId` may start now, and why not. */
  rights(contentId: string, now = Date.now()): RightsState {
    if (!this.identity.cert) return { state: 'preview-only', reason: `this device is not enrolled (no DRM certificate), so no rights object for ${contentId} can be used` };
    const ros = this.candidates(contentId);
    if (!ros.length) return { state: 'preview-only', reason: `no rights object for content ${contentId}` };
    const reasons: string[] = [];
    for (const { ro } of ros) {
      if (ro.binding.kind === 'domain') {
        const held = this.store.domain(ro.binding.id);
        if (held?.grant.generation !== ro.binding.generation) {
          reasons.push(`rights object ${ro.id}: needs key generation ${ro.binding.generation} of domain ${ro.binding.id}, this device holds ${held ? `generation ${held.grant.generation}` : 'none'}`);
          continue;
        }
      }
      const v = evaluate(ro.permission.play, this.store.usage(ro.id), now, true);
      if (v.ok) return { state: 'allowed', roId: ro.id, remaining: v.remaining, expiresAt: v.expiresAt === null ? null : new Date(v.expiresAt).toISOString() };
      reasons.push(`rights object ${ro.id}: ${v.reason}`);
    }
    return { state: 'preview-only', reason: reasons.join('; ') };
  }

  /** Starts a play: records it (durably) and returns the key; throws DrmError('no-rights'). */
  startPlay(contentId: string, now = Date.now()): PlayGrant {
    const r = this.rights(contentId, now);
    if (r.state !== 'allowed') throw new DrmError('no-rights', r.reason);
    const stored = this.candidates(contentId).find((s) => s.ro.id === r.roId)!;
    const key = this.unwrap(stored.ro);
    const usage = consume(this.store.usage(r.roId), now);
    this.store.saveUsage(r.roId, usage);
    const play = stored.ro.permission.play;
    return {
      roId: r.roId,
      key,
      check: (t = Date.now()) => {
        const v = evaluate(play, usage, t, false);
        return v.ok ? undefined : `rights object ${r.roId}: ${v.reason}`;
      },
    };
  }

  /** Registers with the RI behind `url` when not yet done, then acquires and installs an RO. */
  async acquire(url: string, contentId: string, opts: { domainId?: string } = {}): Promise<RightsObject> {
    const id = requireEnrolled(this.identity);
    const client = new RiClient(url, id);
    const ri = await client.riCert();
    if (!this.store.registered(ri.id)) {
      await client.register();
      this.store.saveRegistered(ri.id);
    }
    const got = await client.acquire(contentId, opts.domainId);
    if (got.ro.binding.kind === 'domain') {
      const held = this.store.domain(got.ro.binding.id);
      if (held && held.grant.generation !== got.ro.binding.generation) {
        const k = await client.domainKey(got.ro.binding.id);
        this.installDomainKey(k.grant, k.ri);
      }
    }
    return this.install(got.ro, got.ri);
  }

  /** Leaves a domain at the RI (which rotates the domain key) and forgets its key here. */
  async leaveDomain(url: string, domainId: string): Promise<void> {
    await new RiClient(url, requireEnrolled(this.identity)).leaveDomain(domainId);
    this.store.removeDomain(domainId);
  }

  status(now = Date.now()): { deviceId: string | null; enrolled: boolean; rightsObjects: unknown[]; domains: unknown[] } {
    return {
      deviceId: this.identity.cert?.id ?? null,
      enrolled: !!this.identity.cert,
      rightsObjects: this.store.ros().map(({ ro }) => {
        const u = this.store.usage(ro.id);
        const v = evaluate(ro.permission.play, u, now, true);
        return { id: ro.id, contentId: ro.contentId, binding: ro.binding, constraints: ro.permission.play, plays: u.plays, usable: v.ok, ...(v.ok ? {} : { reason: v.reason }) };
      }),
      domains: this.domains(),
    };
  }
}
