// Phones and protected channels: a phone is no DRM agent, so an encrypted chunk goes to a browser
// session only when the owner approved that session on the owner panel. A phone asks (its session,
// a label it gives), the owner approves or denies; approved sessions are counted members of the
// box's domain, so at most `slots()` of them at once (the domain's size less the devices already in
// it and the box itself; drm-service.ts). In memory: a restart (which ends every session) clears it.
import { randomBytes } from 'node:crypto';

export interface PhoneRequest {
  id: string;
  label: string;
  requestedAt: string;
  state: 'pending' | 'approved' | 'denied';
}

/** Requests kept (pending + decided); the oldest decided go first. */
const MAX_REQUESTS = 200;

export class PhoneApprovals {
  private readonly byToken = new Map<string, PhoneRequest>();

  constructor(
    private readonly slots: () => number,
    private readonly now: () => number = Date.now,
  ) {}

  /** The session asks to watch protected channels; asking again keeps its request. */
  request(token: string, label: string): PhoneRequest {
    const known = this.byToken.get(token);
    if (known && known.state !== 'denied') return { ...known };
    const r: PhoneRequest = { id: randomBytes(6).toString('hex'), label: label.slice(0, 64) || 'a phone', requestedAt: new Date(this.now()).toISOString(), state: 'pending' };
    this.byToken.delete(token);
    this.byToken.set(token, r);
    while (this.byToken.size > MAX_REQUESTS) {
      const oldest = [...this.byToken].find(([, v]) => v.state !== 'approved') ?? [...this.byToken][0]!;
      this.byToken.delete(oldest[0]);
    }
    return { ...r };
  }

  of(token: string): PhoneRequest | undefined {
    const r = this.byToken.get(token);
    return r && { ...r };
  }

  approved(token: string): boolean {
    return this.byToken.get(token)?.state === 'approved';
  }

  get approvedCount(): number {
    let n = 0;
    for (const r of this.byToken.values()) if (r.state === 'approved') n++;
    return n;
  }

  get limit(): number {
    return Math.max(0, this.slots());
  }

  /** Pending and approved requests, oldest first. */
  list(): PhoneRequest[] {
    return [...this.byToken.values()].filter((r) => r.state !== 'denied').map((r) => ({ ...r }));
  }

  /** The owner's decision; approving beyond the domain's room throws saying so. */
  decide(id: string, approve: boolean): PhoneRequest {
    const r = [...this.byToken.values()].find((x) => x.id === id);
    if (!r) throw new Error(`no phone request ${JSON.stringify(id)}`);
    if (approve && r.state !== 'approved') {
      const limit = this.limit;
      if (this.approvedCount >= limit) {
        throw new Error(limit === 0 ? 'this box has no room in its domain for phones (drm.domainMaxSize)' : `the domain has room for ${limit} phone${limit === 1 ? '' : 's'} and ${this.approvedCount} ${this.approvedCount === 1 ? 'is' : 'are'} approved: revoke one first`);
      }
    }
    r.state = approve ? 'approved' : 'denied';
    return { ...r };
  }
}
