// What `superdist get` shows while it works: on a terminal a progress bar (cli-progress) with the
// verified bytes, rates, peers and bad pieces; otherwise one JSON object per line, so scripts and
// tests read progress without parsing a bar:
//   {"event":"progress", "contentId", "state", "name", "sizeBytes", "pieces", "piecesVerified",
//    "bytesVerified", "progress", "rateInBps", "rateOutBps", "peers", "badPieces", "piecesAtStart",
//    "piecesFetched", "endgame"}   every second while fetching, then
//   {"event":"complete", …} once, {"event":"seeding", …} every 5 s while seeding, or
//   {"event":"failed", "kind", "message", …} on failure.
import cliProgress from 'cli-progress';
import type { DownloadContentStatus } from '../download-node.js';

const SEEDING_EVERY_MS = 5000;

interface Sample {
  at: number;
  bytesIn: number;
  bytesOut: number;
}

function mib(n: number): string {
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

export class ProgressReporter {
  private bar: cliProgress.SingleBar | undefined;
  private last: Sample | undefined;
  private rates = { inBps: 0, outBps: 0 };
  private lastSeedingAt = -Infinity;
  private finished = false;

  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly contentId: string,
    private readonly json: boolean,
  ) {}

  /** A new status snapshot (call about once a second). */
  update(s: DownloadContentStatus | undefined, now = Date.now()): void {
    if (!s) return;
    this.measure(s, now);
    if (this.json) {
      if (s.state === 'seeding') {
        if (now - this.lastSeedingAt < SEEDING_EVERY_MS) return;
        this.lastSeedingAt = now;
        return this.line('seeding', s);
      }
      if (s.state !== 'failed') this.line('progress', s);
      return;
    }
    if (this.finished || s.state === 'failed' || s.state === 'seeding') return;
    const total = s.sizeBytes ?? 0;
    const payload = this.payload(s);
    if (!this.bar) {
      if (s.state === 'waiting-manifest') return;
      this.bar = new cliProgress.SingleBar(
        {
          stream: this.out,
          format: '{name} |{bar}| {percentage}% {done} / {size}  in {rateIn}  out {rateOut}  peers {peers}  bad {bad}  eta {eta_formatted}',
          hideCursor: true,
          barsize: 30,
        },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(total, s.bytesVerified, payload);
    } else this.bar.update(s.bytesVerified, payload);
  }

  complete(s: DownloadContentStatus | undefined, seeding: boolean): void {
    if (!s) return;
    this.finished = true;
    if (this.json) return this.line('complete', s);
    if (this.bar) {
      this.bar.update(s.sizeBytes ?? s.bytesVerified, this.payload(s));
      this.bar.stop();
    }
    const secs = s.completedInMs === null ? '' : ` in ${(s.completedInMs / 1000).toFixed(1)} s`;
    const resumed = s.piecesAtStart > 0 ? ` (${s.piecesAtStart} pieces resumed, ${s.piecesFetched} fetched)` : '';
    this.out.write(`saved ${s.path}: ${s.sizeBytes} bytes, every piece verified${secs}${resumed}${seeding ? '; seeding until stopped (Ctrl-C)' : ''}\n`);
  }

  failed(s: DownloadContentStatus | undefined, kind: string, message: string): void {
    this.finished = true;
    this.bar?.stop();
    if (this.json) this.out.write(`${JSON.stringify({ event: 'failed', contentId: this.contentId, kind, message, ...(s ? this.fields(s) : {}) })}\n`);
  }

  stop(): void {
    this.finished = true;
    this.bar?.stop();
  }

  private measure(s: DownloadContentStatus, now: number): void {
    const cur: Sample = { at: now, bytesIn: s.pieceBytesIn, bytesOut: s.pieceBytesOut };
    if (this.last && now > this.last.at) {
      const dt = (now - this.last.at) / 1000;
      this.rates = { inBps: ((cur.bytesIn - this.last.bytesIn) * 8) / dt, outBps: ((cur.bytesOut - this.last.bytesOut) * 8) / dt };
    }
    this.last = cur;
  }

  private payload(s: DownloadContentStatus): Record<string, string | number> {
    return {
      name: s.title,
      done: mib(s.bytesVerified),
      size: mib(s.sizeBytes ?? 0),
      rateIn: `${(this.rates.inBps / 1e6).toFixed(1)} Mbit/s`,
      rateOut: `${(this.rates.outBps / 1e6).toFixed(1)} Mbit/s`,
      peers: s.partners,
      bad: s.badPieces,
    };
  }

  private fields(s: DownloadContentStatus): Record<string, unknown> {
    return {
      state: s.state,
      name: s.name,
      sizeBytes: s.sizeBytes,
      pieces: s.pieces,
      piecesVerified: s.piecesVerified,
      bytesVerified: s.bytesVerified,
      progress: Number(s.progress.toFixed(4)),
      rateInBps: Math.round(this.rates.inBps),
      rateOutBps: Math.round(this.rates.outBps),
      peers: s.partners,
      badPieces: s.badPieces,
      piecesAtStart: s.piecesAtStart,
      piecesFetched: s.piecesFetched,
      pieceBytesOut: s.pieceBytesOut,
      endgame: s.endgame,
      path: s.path,
    };
  }

  private line(event: string, s: DownloadContentStatus): void {
    this.out.write(`${JSON.stringify({ event, contentId: this.contentId, ...this.fields(s) })}\n`);
  }
}
