// Rate limiting for warnings a peer can trigger at will (frame errors, spoofed messages, full
// queues): the first warning of each code is emitted at once, later ones are only counted and
// summarised by flush() — so a hostile peer cannot flood the log.

export interface NetWarning {
  code: string;
  message: string;
  peerId?: string;
}

export class WarningLimiter {
  private readonly seen = new Set<string>();
  private readonly suppressed = new Map<string, number>();

  constructor(
    private readonly emit: (w: NetWarning) => void,
    /** Prefix naming whose warnings these are ('peer x at 1.2.3.4:5'). */
    private readonly subject: () => string,
  ) {}

  /** Emits the first warning of this code; later ones are counted until the next flush(). */
  report(code: string, message: string, peerId?: string): void {
    if (!this.seen.has(code)) {
      this.seen.add(code);
      this.emit({ code, message: `${this.subject()}: ${message}`, ...(peerId !== undefined ? { peerId } : {}) });
      return;
    }
    this.suppressed.set(code, (this.suppressed.get(code) ?? 0) + 1);
  }

  /** Emits one summary per code with suppressed warnings ("N more ..."), then resets the counts. */
  flush(peerId?: string): void {
    for (const [code, n] of this.suppressed) {
      this.emit({
        code,
        message: `${this.subject()}: ${n} more '${code}' warning${n === 1 ? '' : 's'} suppressed`,
        ...(peerId !== undefined ? { peerId } : {}),
      });
    }
    this.suppressed.clear();
  }
}
