// Non-INVITE client transaction (RFC 3261 §17.1.2): the state machine behind REGISTER, MESSAGE and
// OPTIONS. Over UDP the request is retransmitted on timer E (T1, doubling up to T2; every T2 once a
// provisional arrived); timer F ends it with a timeout; after the final response timer K (T4 on UDP,
// 0 on TCP) absorbs retransmitted responses. Sans-IO: bytes go out through `send`, time through the
// injected clock.
import type { SipResponse } from './sip-message.js';
import type { SipClock, SipTimerValues, TimerHandle } from './sip-timers.js';

export type ClientTransactionState = 'trying' | 'proceeding' | 'completed' | 'terminated';

export interface ClientTransactionDeps {
  clock: SipClock;
  timers: SipTimerValues;
  /** Reliable transport (TCP): no retransmissions, timer K = 0. */
  reliable: boolean;
  /** Puts the request on the wire (again). */
  send: () => void;
  onProvisional?: (res: SipResponse) => void;
  onFinal: (res: SipResponse) => void;
  /** Timer F fired without a final response. */
  onTimeout: () => void;
  /** Called once when the transaction is terminated, whatever the reason. */
  onTerminated?: () => void;
}

export class NonInviteClientTransaction {
  private stateValue: ClientTransactionState = 'trying';
  private timerE: TimerHandle | undefined;
  private timerF: TimerHandle | undefined;
  private timerK: TimerHandle | undefined;
  private interval: number;
  /** How many times the request went on the wire (1 + retransmissions). */
  sends = 0;

  constructor(private readonly deps: ClientTransactionDeps) {
    this.interval = deps.timers.t1Ms;
  }

  get state(): ClientTransactionState {
    return this.stateValue;
  }

  start(): void {
    this.transmit();
    if (!this.deps.reliable) this.timerE = this.deps.clock.setTimer(() => this.onTimerE(), this.interval);
    this.timerF = this.deps.clock.setTimer(() => this.onTimerF(), this.deps.timers.transactionTimeoutMs);
  }

  /** A response whose branch matched this transaction. */
  receive(res: SipResponse): void {
    if (this.stateValue === 'completed' || this.stateValue === 'terminated') return; // retransmission
    if (res.status < 200) {
      this.stateValue = 'proceeding';
      this.deps.onProvisional?.(res);
      return;
    }
    this.stateValue = 'completed';
    this.clear();
    this.deps.onFinal(res);
    if (this.deps.reliable) this.terminate();
    else this.timerK = this.deps.clock.setTimer(() => this.terminate(), this.deps.timers.t4Ms);
  }

  /** The transport reported a failure (RFC 3261 §17.1.4): the transaction ends now. */
  abort(): void {
    this.terminate();
  }

  private transmit(): void {
    this.sends++;
    this.deps.send();
  }

  private onTimerE(): void {
    this.timerE = undefined;
    if (this.stateValue !== 'trying' && this.stateValue !== 'proceeding') return;
    this.transmit();
    this.interval = this.stateValue === 'proceeding' ? this.deps.timers.t2Ms : Math.min(2 * this.interval, this.deps.timers.t2Ms);
    this.timerE = this.deps.clock.setTimer(() => this.onTimerE(), this.interval);
  }

  private onTimerF(): void {
    this.timerF = undefined;
    if (this.stateValue !== 'trying' && this.stateValue !== 'proceeding') return;
    this.terminate();
    this.deps.onTimeout();
  }

  private clear(): void {
    this.deps.clock.clearTimer(this.timerE);
    this.deps.clock.clearTimer(this.timerF);
    this.timerE = this.timerF = undefined;
  }

  private terminate(): void {
    if (this.stateValue === 'terminated') return;
    this.clear();
    this.deps.clock.clearTimer(this.timerK);
    this.timerK = undefined;
    this.stateValue = 'terminated';
    this.deps.onTerminated?.();
  }
}
