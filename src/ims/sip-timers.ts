// Time as the SIP layers see it: a clock with one-shot timers, injectable so the RFC 3261 timers
// (A/B/E/F/J/K) and the registration/ticket schedules run under a fake clock in tests.

export type TimerHandle = { readonly id: number };

export interface SipClock {
  now(): number;
  setTimer(fn: () => void, ms: number): TimerHandle;
  clearTimer(handle: TimerHandle | undefined): void;
}

/** RFC 3261 §17.1.1.1 / table 4 timer values, all overridable. */
export interface SipTimerValues {
  /** RTT estimate; first retransmission interval (default 500 ms). */
  t1Ms: number;
  /** Maximum retransmission interval for non-INVITE requests (default 4 s). */
  t2Ms: number;
  /** Maximum time a message stays in the network (default 5 s); timer K on UDP. */
  t4Ms: number;
  /** Timer F / timer B: transaction timeout (default 64*T1 = 32 s). */
  transactionTimeoutMs: number;
}

export const DEFAULT_SIP_TIMERS: SipTimerValues = { t1Ms: 500, t2Ms: 4000, t4Ms: 5000, transactionTimeoutMs: 32_000 };

/** Wall clock with Node timers (unref'd: SIP timers alone never keep the process alive). */
export function systemSipClock(): SipClock {
  let next = 1;
  const live = new Map<number, NodeJS.Timeout>();
  return {
    now: () => Date.now(),
    setTimer(fn, ms) {
      const id = next++;
      const t = setTimeout(() => {
        live.delete(id);
        fn();
      }, Math.max(0, ms));
      t.unref?.();
      live.set(id, t);
      return { id };
    },
    clearTimer(handle) {
      if (!handle) return;
      const t = live.get(handle.id);
      if (t) clearTimeout(t);
      live.delete(handle.id);
    },
  };
}
