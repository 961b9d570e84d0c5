// Tunables of the overlay engine (membership, partnership, member scheduler) and of the tracker
// logic that wraps it. A plain object: the app config maps its own schema onto these fields.
// Every field carries its unit in its name; every one is overridable.
import { numberFieldProblems } from './tunable-problems.js';

// Each field's meaning: the MEANINGS record below the defaults.
export interface EngineConfig {
  minPartners: number;
  maxPartners: number;
  natReservedSlots: number;
  membershipPeriodMs: number;
  membershipPartnerPeriodMs: number;
  memberTtlMs: number;
  maxAcceptedTtlMs: number;
  membershipFanout: number;
  trackerAnnouncePeriodMs: number;
  mCacheMax: number;
  membersReqMax: number;
  memberSchedulerPeriodMs: number;
  partnerStaleMs: number;
  partnershipReqTimeoutMs: number;
  partnerRetryBackoffMs: number;
  membersReqIntervalMs: number;
  membersReqFanout: number;
  trackerRetryMs: number;
  deputyTimeoutMs: number;
  redirectThreshold: number;
  trackerMemberTtlMs: number;
  trackerManifestCacheBytes: number;
}

export const DEFAULT_ENGINE_CONFIG: Readonly<EngineConfig> = Object.freeze({
  minPartners: 4,
  maxPartners: 8,
  natReservedSlots: 2,
  membershipPeriodMs: 1000,
  membershipPartnerPeriodMs: 3000,
  memberTtlMs: 10_000,
  maxAcceptedTtlMs: 60_000,
  membershipFanout: 2,
  trackerAnnouncePeriodMs: 300_000,
  mCacheMax: 512,
  membersReqMax: 32,
  memberSchedulerPeriodMs: 500,
  partnerStaleMs: 6000,
  partnershipReqTimeoutMs: 2000,
  partnerRetryBackoffMs: 5000,
  membersReqIntervalMs: 1000,
  membersReqFanout: 2,
  trackerRetryMs: 3000,
  deputyTimeoutMs: 2000,
  redirectThreshold: 8,
  trackerMemberTtlMs: 0,
  trackerManifestCacheBytes: 16 * 1024 * 1024,
});

/** What each field means (the configuration reference, docs/configuration.md, is generated from these). */
export const ENGINE_CONFIG_MEANINGS = Object.freeze({
  minPartners: 'M: partners per content the member scheduler keeps at least.',
  maxPartners: 'Mmax: partners per content never exceeded; partnership requests beyond it are refused.',
  natReservedSlots: 'On a public or mapped node: partner slots (of maxPartners, per content) only partnership requests of `nat` members may take, so boxes behind NAT are not left only with each other (docs/nat.md); 0 = none.',
  membershipPeriodMs: 'How often a peer sends its own Membership to a few random members (gossip); partners get it every membershipPartnerPeriodMs.',
  membershipPartnerPeriodMs: "How often partners get our Membership (in whole membershipPeriodMs rounds; at most half of partnerStaleMs and of memberTtlMs). Their data planes hear from us every few hundred ms anyway (buffer maps), which is what keeps a partnership alive; the Membership refreshes our entry in their mCache.",
  memberTtlMs: 'TTL announced in our own Membership: how long others keep us without news.',
  maxAcceptedTtlMs: 'Largest TTL accepted from others (announcements or gossip); longer ones are clamped.',
  membershipFanout: 'Random mCache members (besides partners) that get each Membership.',
  trackerAnnouncePeriodMs: 'How often a box announces its joined contents to the tracker again (TrackerJoin + Membership), ±20 % jitter; between announces it holds no tracker connection (unless the tracker is a partner or the box is behind a NAT). The tracker keeps an entry 2.5 times this long by default.',
  mCacheMax: 'Bound on the mCache; when full the entry closest to expiry is evicted.',
  membersReqMax: 'Most entries in a MembersResp/TrackerMembers we send, and the `max` of our MembersReq.',
  memberSchedulerPeriodMs: 'Period of the member scheduler pass, per content.',
  partnerStaleMs: 'A partner we heard nothing from for this long is removed and replaced.',
  partnershipReqTimeoutMs: 'An unanswered PartnershipReq is given up after this long.',
  partnerRetryBackoffMs: 'After a refusal, timeout or removal, the same peer is not asked again for this long.',
  membersReqIntervalMs: 'Least time between two MembersReq rounds for one content.',
  membersReqFanout: 'How many partners (or members) one MembersReq round asks.',
  trackerRetryMs: 'Unanswered tracker join is repeated after this long; also the least gap between re-asks.',
  deputyTimeoutMs: 'A deputy that does not answer a redirected join within this long is abandoned for the tracker.',
  redirectThreshold: 'Tracker: active members a content needs before newcomers are redirected to deputies.',
  trackerMemberTtlMs: 'Tracker: how long a registry entry stays without a join or Membership; 0 = 2.5 × trackerAnnouncePeriodMs (a box missing one announce is kept).',
  trackerManifestCacheBytes: "Tracker that is also a peer: bytes of download manifests it keeps (fetched from the boxes, checked against the content id) to answer a download's ManifestReq itself, the least recently used leaving first; 0 = none (docs/downloads.md).",
}) satisfies Readonly<Record<keyof EngineConfig, string>>;

/** Returns the problems of a config (empty when usable); each names the offending field. */
export function engineConfigProblems(c: EngineConfig): string[] {
  const problems = numberFieldProblems(c);
  if (c.minPartners < 1) problems.push('minPartners must be at least 1');
  if (c.maxPartners < c.minPartners) problems.push('maxPartners must be >= minPartners');
  if (c.natReservedSlots > c.maxPartners) problems.push('natReservedSlots must not exceed maxPartners');
  if (c.membershipPeriodMs <= 0) problems.push('membershipPeriodMs must be > 0');
  if (c.trackerAnnouncePeriodMs <= 0) problems.push('trackerAnnouncePeriodMs must be > 0');
  if (c.memberSchedulerPeriodMs <= 0) problems.push('memberSchedulerPeriodMs must be > 0');
  if (c.memberTtlMs <= c.membershipPeriodMs) problems.push('memberTtlMs must exceed membershipPeriodMs');
  if (c.partnerStaleMs <= c.membershipPeriodMs) problems.push('partnerStaleMs must exceed membershipPeriodMs');
  if (c.mCacheMax < 1) problems.push('mCacheMax must be at least 1');
  if (c.membersReqMax < 2) problems.push('membersReqMax must be at least 2');
  return problems;
}
