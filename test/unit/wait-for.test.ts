import { describe, expect, it } from 'vitest';
import { waitFor } from '../support/wait-for.js';

const fast = { everyMs: 5 };

describe('waitFor (tests that wait on real processes)', () => {
  it('does not end on a probe value of 0: only the predicate ends the wait', async () => {
    let polls = 0;
    const chunks = () => [0, 0, 0, 2, 5][polls++] ?? 5;
    const got = await waitFor('3 chunks', 2000, chunks, (n) => n >= 3, fast);
    expect(got).toBe(5);
    expect(polls).toBe(5);
  });

  it('a boolean probe ends only on true; undefined always means "not yet"', async () => {
    let polls = 0;
    await waitFor('the flag', 2000, () => ++polls >= 3, fast);
    expect(polls).toBe(3);
    let seen = 0;
    const v = await waitFor('a status', 2000, () => (++seen < 3 ? undefined : { id: 'n1' }), (s) => s.id === 'n1', fast);
    expect(v).toEqual({ id: 'n1' });
    expect(seen).toBe(3);
  });

  it('times out naming what it waited for and the last value seen', async () => {
    await expect(waitFor('the source to publish 3 chunks', 60, () => 0, (n) => n >= 3, fast)).rejects.toThrow(
      /^timed out after 60 ms waiting for the source to publish 3 chunks \(last value: 0\)$/,
    );
  });

  it('refuses a probe that returns a number without a predicate (a `?? 0` that would end at once)', async () => {
    const untyped = waitFor as unknown as (what: string, ms: number, probe: () => unknown) => Promise<unknown>;
    await expect(untyped('partners', 1000, () => 0)).rejects.toThrow(/waitFor\(partners\): the probe returned 0, not a boolean; pass a predicate/);
  });
});
