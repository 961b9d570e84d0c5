// The DRM agent on the live player path: every chunk of the watched channel passes here on its way
// to the player (never on the relay path). Clear chunks go through; an encrypted chunk is
// decrypted when a play grant holds, otherwise it becomes a gap and the status says why. A play
// (one counted use) starts at the first encrypted chunk of a watch; without rights the gate asks
// the agent again every RETRY_MS (an RO acquired meanwhile takes effect); an expiring permission
// stops decryption at once.
import type { DrmAgent, PlayGrant } from './drm-agent.js';
import { DrmError } from './encoding.js';
import { isProtectedChunk, unprotectChunk } from './live-protect.js';

export const LIVE_GATE_RETRY_MS = 2000;

export interface LiveRightsStatus {
  state: 'clear' | 'allowed' | 'preview-only';
  reason?: string;
  roId?: string;
  clearChunks: number;
  decryptedChunks: number;
  withheldChunks: number;
}

export class LiveGate {
  private grant: PlayGrant | undefined;
  private reason: string | undefined;
  private nextTry = 0;
  private protectedSeen = false;
  private readonly st = { clearChunks: 0, decryptedChunks: 0, withheldChunks: 0 };

  constructor(
    private readonly agent: DrmAgent,
    readonly contentId: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** The bytes for the player, or undefined when this chunk must be withheld. */
  filter(seq: number, data: Uint8Array): Uint8Array | undefined {
    if (!isProtectedChunk(data)) {
      this.st.clearChunks++;
      return data;
    }
    this.protectedSeen = true;
    const t = this.now();
    if (this.grant) {
      const stop = this.grant.check(t);
      if (stop) {
        this.grant = undefined;
        this.reason = stop;
        this.nextTry = t + LIVE_GATE_RETRY_MS;
      }
    }
    if (!this.grant && t >= this.nextTry) {
      try {
        this.grant = this.agent.startPlay(this.contentId, t);
        this.reason = undefined;
      } catch (err) {
        this.reason = err instanceof DrmError ? err.message : `rights check failed: ${(err as Error).message}`;
        this.nextTry = t + LIVE_GATE_RETRY_MS;
      }
    }
    if (!this.grant) {
      this.st.withheldChunks++;
      return undefined;
    }
    this.st.decryptedChunks++;
    return unprotectChunk(this.grant.key, seq, data);
  }

  status(): LiveRightsStatus {
    if (!this.protectedSeen) return { state: 'clear', ...this.st };
    if (this.grant) return { state: 'allowed', roId: this.grant.roId, ...this.st };
    return { state: 'preview-only', reason: this.reason ?? `no rights object for content ${this.contentId}`, ...this.st };
  }
}
