// Polling until an observed condition holds, for tests that drive real processes and sockets.
// Success is always explicit: either the probe is a condition (it returns a boolean, and only
// `true` ends the wait), or the caller passes `accept`, a predicate over the probe's value
// (`undefined` from the probe always means "not yet"). A probe returning a number or an object
// without a predicate is a mistake (a `?? 0` would otherwise end the wait at once) and throws.

export interface WaitOptions {
  /** Poll period (default 100 ms). */
  everyMs?: number;
}

const show = (v: unknown): string => {
  if (v === undefined) return 'undefined';
  try {
    const s = JSON.stringify(v);
    return s.length > 200 ? `${s.slice(0, 200)}...` : s;
  } catch {
    return String(v);
  }
};

/** Waits until `cond` returns true; rejects naming `what` (and the last value seen) after timeoutMs. */
export function waitFor(what: string, timeoutMs: number, cond: () => boolean | Promise<boolean>, opts?: WaitOptions): Promise<true>;
/** Waits until `probe` returns a value that `accept` holds true for, and returns that value. */
export function waitFor<T>(
  what: string,
  timeoutMs: number,
  probe: () => T | undefined | Promise<T | undefined>,
  accept: (v: T) => boolean,
  opts?: WaitOptions,
): Promise<T>;
export async function waitFor<T>(
  what: string,
  timeoutMs: number,
  probe: () => T | undefined | Promise<T | undefined>,
  acceptOrOpts?: ((v: T) => boolean) | WaitOptions,
  maybeOpts?: WaitOptions,
): Promise<T> {
  const accept = typeof acceptOrOpts === 'function' ? acceptOrOpts : undefined;
  const opts = (typeof acceptOrOpts === 'function' ? maybeOpts : acceptOrOpts) ?? {};
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    const v = await probe();
    last = v;
    if (accept) {
      if (v !== undefined && accept(v)) return v;
    } else {
      if (typeof v !== 'boolean') throw new TypeError(`waitFor(${what}): the probe returned ${show(v)}, not a boolean; pass a predicate saying which value ends the wait`);
      if (v) return v as T;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last value: ${show(last)})`);
    await new Promise((r) => setTimeout(r, opts.everyMs ?? 100));
  }
}
