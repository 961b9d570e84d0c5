// Partner refinement on the data plane's evidence (DONet's partnership refinement; the thesis's
// "members whose buffer map information is not well-updated enough"). Two rules, one drop per check
// — the member scheduler then refills with another member:
//  - useless: a partner that exchanged no chunk with us either way for uselessPartnerMs;
//  - starving: when we skipped chunks during the last partnerRefineMs, the partner (older than one
//    period) that supplied the fewest chunks in it is replaced, as long as another remains.
// Dropped partners are blocked for a few periods so the scheduler looks elsewhere.
import type { LiveConfig } from './live-config.js';
import type { LivePartners } from './live-partners.js';
import type { Random } from './ports.js';
import type { DropPeer } from './plane/plane-core.js';

/** How often the useless rule is checked. */
const USELESS_CHECK_MS = 1000;
/** A partner replaced for starving us is not taken back for this many refine periods. */
const REFINE_BLOCK_PERIODS = 3;

export interface PartnerRefinerDeps {
  config: LiveConfig;
  partners: LivePartners;
  random: Random;
  drop: DropPeer;
}

export class PartnerRefiner {
  private nextUselessCheck: number;
  private nextRefine: number;
  private skippedAtRefine = 0;
  private readonly suppliedAtRefine = new Map<string, number>();

  constructor(
    private readonly deps: PartnerRefinerDeps,
    now: number,
  ) {
    this.nextUselessCheck = now + USELESS_CHECK_MS;
    this.nextRefine = now + deps.config.partnerRefineMs;
  }

  /** Returns the reason a partner was dropped now, or undefined. */
  tick(now: number, chunksSkipped: number): 'useless' | 'starving' | undefined {
    if (this.dropUseless(now)) return 'useless';
    const period = this.deps.config.partnerRefineMs;
    if (period <= 0 || now < this.nextRefine) return undefined;
    this.nextRefine = now + period;
    const skipped = chunksSkipped - this.skippedAtRefine;
    this.skippedAtRefine = chunksSkipped;
    let worst: string | undefined;
    let worstSupplied = Infinity;
    let eligible = 0;
    for (const p of this.deps.partners.all()) {
      const supplied = p.chunksIn - (this.suppliedAtRefine.get(p.peerId) ?? 0);
      if (now - p.since < period) continue;
      eligible++;
      if (supplied < worstSupplied || (supplied === worstSupplied && this.deps.random.next() < 0.5)) {
        worst = p.peerId;
        worstSupplied = supplied;
      }
    }
    this.suppliedAtRefine.clear();
    for (const p of this.deps.partners.all()) this.suppliedAtRefine.set(p.peerId, p.chunksIn);
    if (skipped <= 0 || worst === undefined || eligible < 2) return undefined;
    this.deps.drop(worst, 'starving', REFINE_BLOCK_PERIODS * period);
    return 'starving';
  }

  private dropUseless(now: number): boolean {
    const limit = this.deps.config.uselessPartnerMs;
    if (limit <= 0 || now < this.nextUselessCheck) return false;
    this.nextUselessCheck = now + USELESS_CHECK_MS;
    for (const p of this.deps.partners.all()) {
      if (now - Math.max(p.since, p.lastExchangeAt) >= limit) {
        this.deps.drop(p.peerId, 'useless', limit);
        return true;
      }
    }
    return false;
  }
}
