// Evaluation of a play permission's constraints against what this device has used (pure).
import type { PlayConstraints } from './rights-object.js';

export interface UsageState {
  /** Plays started under this rights object. */
  plays: number;
  /** When the first play started (ms since the epoch), for interval constraints. */
  firstPlayAt?: number;
}

export type Verdict = { ok: true; remaining: number | null; expiresAt: number | null } | { ok: false; reason: string };

/** When the permission stops (the earliest of notAfter and firstPlay + interval), or null. */
export function expiryOf(c: PlayConstraints, u: UsageState, now: number): number | null {
  const ends: number[] = [];
  if (c.notAfter) ends.push(Date.parse(c.notAfter));
  if (c.intervalS !== undefined) ends.push((u.firstPlayAt ?? now) + c.intervalS * 1000);
  return ends.length ? Math.min(...ends) : null;
}

/**
 * May playback continue (`starting` false) or may a new play start (`starting` true, which also
 * needs a play left of a count)?
 */
export function evaluate(c: PlayConstraints, u: UsageState, now: number, starting: boolean): Verdict {
  if (c.notBefore && now < Date.parse(c.notBefore)) return { ok: false, reason: `not valid before ${c.notBefore}` };
  if (c.notAfter && now >= Date.parse(c.notAfter)) return { ok: false, reason: `expired at ${c.notAfter}` };
  if (c.intervalS !== undefined && u.firstPlayAt !== undefined && now >= u.firstPlayAt + c.intervalS * 1000) {
    return { ok: false, reason: `its ${c.intervalS} s interval from the first play ended at ${new Date(u.firstPlayAt + c.intervalS * 1000).toISOString()}` };
  }
  const remaining = c.count === undefined ? null : c.count - u.plays;
  if (starting && remaining !== null && remaining <= 0) return { ok: false, reason: `all ${c.count} plays used` };
  return { ok: true, remaining, expiresAt: expiryOf(c, u, now) };
}

/** The usage after a play starts. */
export function consume(u: UsageState, now: number): UsageState {
  return { plays: u.plays + 1, firstPlayAt: u.firstPlayAt ?? now };
}
