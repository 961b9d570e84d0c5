// Non-INVITE server transactions (RFC 3261 §17.2.2, matching per §17.2.3): a retransmitted request
// is absorbed, and once answered, gets the last response again; the transaction lives timer J
// (64*T1 on UDP, 0 on TCP) after its final response. Requests whose answer never comes are
// forgotten after the same time, so the table stays bounded by the request rate.
import type { SipRequest } from './sip-message.js';
import { getHeader } from './sip-message.js';
import { parseVia } from './sip-headers.js';
import type { SipClock, SipTimerValues, TimerHandle } from './sip-timers.js';

interface Entry {
  response?: Buffer;
  timer: TimerHandle;
}

/** RFC 3261 magic cookie: branches starting with it are unique transaction ids. */
export const BRANCH_COOKIE = 'z9hG4bK';

/** The §17.2.3 key of a request (branch + sent-by + method), or undefined for RFC 2543 requests. */
export function serverTransactionKey(req: SipRequest): string | undefined {
  const top = getHeader(req, 'Via');
  const via = top ? parseVia(top.split(',')[0] ?? '') : undefined;
  const branch = via?.params.get('branch');
  if (!via || !branch || !branch.startsWith(BRANCH_COOKIE)) return undefined;
  const method = req.method === 'ACK' ? 'INVITE' : req.method;
  return `${branch}|${via.host.toLowerCase()}:${via.port ?? ''}|${method}`;
}

export interface ServerTransactionsDeps {
  clock: SipClock;
  timers: SipTimerValues;
  reliable: boolean;
  /** Most transactions held at once; beyond it new requests are answered 503 by the caller. */
  maxEntries: number;
}

export type ServerRequestVerdict = 'new' | 'retransmission' | 'overloaded';

export class ServerTransactions {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly deps: ServerTransactionsDeps) {}

  get size(): number {
    return this.entries.size;
  }

  /**
   * Classifies an incoming request. For a retransmission of an answered request `resend` gets the
   * stored response bytes.
   */
  onRequest(req: SipRequest, resend: (bytes: Buffer) => void): ServerRequestVerdict {
    const key = serverTransactionKey(req);
    if (key === undefined) return 'new';
    const e = this.entries.get(key);
    if (e) {
      if (e.response) resend(e.response);
      return 'retransmission';
    }
    if (this.entries.size >= this.deps.maxEntries) return 'overloaded';
    const forget = 64 * this.deps.timers.t1Ms;
    this.entries.set(key, { timer: this.deps.clock.setTimer(() => this.entries.delete(key), forget) });
    return 'new';
  }

  /** Records the final response sent for a request (kept for retransmissions until timer J). */
  onFinalResponse(req: SipRequest, bytes: Buffer): void {
    const key = serverTransactionKey(req);
    if (key === undefined) return;
    const e = this.entries.get(key);
    if (!e) return;
    this.deps.clock.clearTimer(e.timer);
    if (this.deps.reliable) {
      this.entries.delete(key);
      return;
    }
    e.response = bytes;
    e.timer = this.deps.clock.setTimer(() => this.entries.delete(key), 64 * this.deps.timers.t1Ms);
  }

  clear(): void {
    for (const e of this.entries.values()) this.deps.clock.clearTimer(e.timer);
    this.entries.clear();
  }
}
