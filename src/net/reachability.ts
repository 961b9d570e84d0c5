// Does anyone outside reach us? (docs/nat.md) The tracker's Hello tells us the address it sees
// (observed); we ask it to dial back the contact we would advertise (the observed host with the port
// the router mapped, else with our listen port) and classify:
//   public: reachable at our own (observed) address;   mapped: reachable through the mapping;
//   nat: not reachable (others must not waste a dial on us: we dial them).
// The classification and the contact to advertise go to the node through apply(). A test is
// repeated every retestMs, when the observed address changes (new public IP) and when the mapping
// changes; a failed test of a mapped contact asks the router again (mapping gone after a reboot).
import type { Contact, Reachability, ReachabilityResp } from '../protocol/messages.js';
import { formatContact, sameContact } from './contact.js';

export interface ReachabilityOptions {
  listenPort: number;
  /** Sends a ReachabilityReq for `contact` to the tracker; false when it could not be sent. */
  sendTest: (contact: Contact) => boolean;
  /** The contact to advertise and our classification changed. */
  apply: (contact: Contact, reachability: Reachability) => void;
  /** Asks the router to map again (a mapped contact stopped answering); absent without port mapping. */
  remap?: () => void;
  /** Whether a port mapping attempt is still under way (a test then waits for it). */
  mappingPending?: () => boolean;
  clock: () => number;
  warn: (code: string, message: string) => void;
  info?: (message: string) => void;
  /** Re-test this often while nothing changes (ms). */
  retestMs?: number;
  /** Give up on an answer after this long and ask again later (ms). */
  answerTimeoutMs?: number;
  /** The tracker was busy: ask again this much later (ms). */
  busyRetryMs?: number;
}

export interface ReachabilityStatus {
  reachability: Reachability;
  /** host:port others can dial (public or mapped), else null. */
  publicContact: string | null;
  /** Our address as the tracker sees it (null before its Hello). */
  observed: string | null;
  /** Why the last test failed ('' when it passed or none ran). */
  lastTestDetail: string;
  reachabilityTests: number;
}

export const REACHABILITY_DEFAULTS = { retestMs: 600_000, answerTimeoutMs: 10_000, busyRetryMs: 3_000 } as const;

export class ReachabilityMonitor {
  private reach: Reachability = 'unknown';
  private publicContact: Contact | undefined;
  private observed: Contact | undefined;
  private mapped: Contact | undefined;
  /** The contact last handed to apply(). */
  private applied: Contact | undefined;
  /** The outstanding test: what was asked, whether it was the mapped contact, when it is given up. */
  private pending: { contact: Contact; viaMapping: boolean; deadline: number } | undefined;
  private nextTestAt = Number.POSITIVE_INFINITY;
  private lastRemapAt = Number.NEGATIVE_INFINITY;
  private lastDetail = '';
  private warnedExternal = false;
  private tests = 0;
  private failedAnswers = 0;
  private readonly retestMs: number;
  private readonly answerTimeoutMs: number;
  private readonly busyRetryMs: number;

  constructor(private readonly opts: ReachabilityOptions) {
    this.retestMs = opts.retestMs ?? REACHABILITY_DEFAULTS.retestMs;
    this.answerTimeoutMs = opts.answerTimeoutMs ?? REACHABILITY_DEFAULTS.answerTimeoutMs;
    this.busyRetryMs = opts.busyRetryMs ?? REACHABILITY_DEFAULTS.busyRetryMs;
  }

  get reachability(): Reachability {
    return this.reach;
  }

  status(): ReachabilityStatus {
    return {
      reachability: this.reach,
      publicContact: this.publicContact ? formatContact(this.publicContact) : null,
      observed: this.observed ? formatContact(this.observed) : null,
      lastTestDetail: this.lastDetail,
      reachabilityTests: this.tests,
    };
  }

  /** The tracker told us how it sees us (its Hello, a join answer). A new address is tested at once. */
  onObserved(observed: Contact): void {
    if (typeof observed?.host !== 'string' || observed.host === '') return;
    const before = this.observed;
    this.observed = { host: observed.host, port: observed.port };
    if (before && before.host === observed.host) return; // the port is the NAT's choice per connection
    if (before) this.opts.warn('observed-address-changed', `the tracker now sees us at ${observed.host} (was ${before.host}): testing reachability again`);
    this.testSoon();
  }

  /** The port mapping was made, changed or lost. */
  onMapping(external: Contact | undefined): void {
    const same = external && this.mapped ? sameContact(external, this.mapped) : external === this.mapped;
    this.mapped = external ? { ...external } : undefined;
    if (!same) this.testSoon();
  }

  /** The tracker's answer to our test. */
  onResponse(resp: ReachabilityResp): void {
    const p = this.pending;
    if (!p || !resp || typeof resp.contact !== 'object' || resp.contact === null || !sameContact(resp.contact, p.contact)) return;
    this.pending = undefined;
    const now = this.opts.clock();
    if (resp.observed && typeof resp.observed.host === 'string' && resp.observed.host !== '') this.onObserved(resp.observed);
    if (resp.detail === 'busy') {
      this.nextTestAt = Math.min(this.nextTestAt, now + this.busyRetryMs);
      return;
    }
    this.failedAnswers = 0;
    this.lastDetail = resp.reachable ? '' : String(resp.detail || 'unreachable');
    this.nextTestAt = Math.min(this.nextTestAt, now + this.retestMs);
    if (resp.reachable) {
      this.classify(p.viaMapping ? 'mapped' : 'public', p.contact);
      return;
    }
    if (p.viaMapping && this.opts.remap && now - this.lastRemapAt >= this.retestMs) {
      // The router may have lost the mapping (reboot): ask it again; a new mapping is tested again.
      this.lastRemapAt = now;
      this.opts.warn('mapping-unreachable', `the mapped contact ${formatContact(p.contact)} is not reachable (${this.lastDetail}): asking the router again`);
      this.opts.remap();
    }
    const own = this.observed ? { host: this.observed.host, port: this.opts.listenPort } : p.contact;
    this.classify('nat', own);
  }

  tick(now: number): void {
    const p = this.pending;
    if (p && now >= p.deadline) {
      this.pending = undefined;
      this.failedAnswers++;
      // The tracker may be an old one without the test: back off, do not flood it.
      this.nextTestAt = now + Math.min(this.retestMs, this.answerTimeoutMs * 2 ** Math.min(this.failedAnswers, 6));
    }
    if (this.pending || now < this.nextTestAt || !this.observed) return;
    if (this.opts.mappingPending?.()) return;
    const viaMapping = this.mapped !== undefined;
    // Others reach the router at the address the tracker sees; a router may report another external
    // address (one it is configured with, or its own behind a second NAT): the test decides.
    const contact = { host: this.observed.host, port: this.mapped?.port ?? this.opts.listenPort };
    if (this.mapped && this.mapped.host !== this.observed.host && !this.warnedExternal) {
      this.warnedExternal = true;
      this.opts.warn('mapping-address-differs', `the router says its external address is ${this.mapped.host} but the tracker sees ${this.observed.host}: testing ${formatContact(contact)}`);
    }
    this.nextTestAt = Number.POSITIVE_INFINITY;
    if (!this.opts.sendTest({ ...contact })) {
      this.nextTestAt = now + this.busyRetryMs;
      return;
    }
    this.tests++;
    this.pending = { contact: { ...contact }, viaMapping, deadline: now + this.answerTimeoutMs };
  }

  private testSoon(): void {
    this.nextTestAt = this.opts.clock();
  }

  private classify(reach: Reachability, contact: Contact): void {
    const changed = reach !== this.reach || !this.applied || !sameContact(this.applied, contact);
    this.reach = reach;
    this.publicContact = reach === 'nat' ? undefined : { ...contact };
    if (!changed) return;
    this.applied = { ...contact };
    this.opts.info?.(reach === 'nat'
      ? `not reachable from outside (${this.lastDetail}): other peers are told not to dial us; we dial them`
      : `reachable from outside at ${formatContact(contact)} (${reach})`);
    this.opts.apply({ ...contact }, reach);
  }
}
