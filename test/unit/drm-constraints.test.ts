// Play constraints: count, interval from the first play, date-time window.
import { describe, expect, it } from 'vitest';
import { consume, evaluate } from '../../src/drm/constraints.js';
import { parseConstraints } from '../../src/drm/rights-object.js';

const T = Date.parse('2026-11-22T10:00:00Z');

describe('play constraints', () => {
  it('a count allows exactly N starts', () => {
    let u = { plays: 0 };
    for (let i = 0; i < 3; i++) {
      expect(evaluate({ count: 3 }, u, T, true).ok).toBe(true);
      u = consume(u, T);
    }
    expect(evaluate({ count: 3 }, u, T, true)).toEqual({ ok: false, reason: 'all 3 plays used' });
    expect(evaluate({ count: 3 }, u, T, false).ok).toBe(true);
  });

  it('an interval runs from the first play; a date-time window bounds start and continuation', () => {
    const u = consume({ plays: 0 }, T);
    expect(evaluate({ intervalS: 60 }, u, T + 59_000, false).ok).toBe(true);
    expect(evaluate({ intervalS: 60 }, u, T + 60_000, false)).toMatchObject({ ok: false, reason: expect.stringMatching(/60 s interval/) });
    const w = { notBefore: '2026-11-22T09:00:00.000Z', notAfter: '2026-11-22T11:00:00.000Z' };
    expect(evaluate(w, { plays: 0 }, T, true)).toMatchObject({ ok: true, expiresAt: Date.parse(w.notAfter) });
    expect(evaluate(w, { plays: 0 }, T - 2 * 3600_000, true)).toMatchObject({ ok: false, reason: 'not valid before 2026-11-22T09:00:00.000Z' });
    expect(evaluate(w, { plays: 0 }, T + 3600_000, false)).toMatchObject({ ok: false, reason: 'expired at 2026-11-22T11:00:00.000Z' });
  });

  it('bad constraints are named', () => {
    expect(() => parseConstraints({ count: 0 })).toThrow(/count: expected a whole number >= 1/);
    expect(() => parseConstraints({ until: 'x' })).toThrow(/unknown constraint "until"/);
    expect(() => parseConstraints({ notAfter: 'soon' })).toThrow(/notAfter: expected an ISO 8601/);
  });
});
