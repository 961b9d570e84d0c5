// The last minutes of the node, one sample per status poll, for the page's chart: continuity of the
// channel on the TV over the sample's interval (on-time chunks ÷ chunks due), playback lag, and
// download/upload rates from the transport's byte counters (uplink and segment together).
import type { Status } from '../control/status.js';

export interface Sample {
  /** Wall-clock time (ms). */
  t: number;
  /** On-time ÷ due chunks since the previous sample; null when nothing was due (nothing playing). */
  continuity: number | null;
  lagMs: number | null;
  inBps: number;
  outBps: number;
  partners: number;
  bufferBytes: number;
}

interface Totals {
  t: number;
  bytesIn: number;
  bytesOut: number;
  contentId: string | undefined;
  due: number;
  onTime: number;
}

function totals(s: Status, t: number): Totals {
  const watched = s.contents.find((c) => c.watching) ?? s.contents.find((c) => c.role === 'viewer');
  return {
    t,
    bytesIn: (s.net.bytesIn ?? 0) + (s.segment?.bytesIn ?? 0),
    bytesOut: (s.net.bytesOut ?? 0) + (s.segment?.bytesOut ?? 0),
    contentId: watched?.id,
    due: watched?.chunksDue ?? 0,
    onTime: watched?.chunksOnTime ?? 0,
  };
}

export class StatusHistory {
  private readonly samples: Sample[] = [];
  private prev: Totals | undefined;

  constructor(private readonly capacity: number) {}

  /** Adds a sample from a status snapshot taken at `t`; returns it (undefined for the first call). */
  add(s: Status, t: number): Sample | undefined {
    const cur = totals(s, t);
    const prev = this.prev;
    this.prev = cur;
    if (!prev || cur.t <= prev.t) return undefined;
    const dt = (cur.t - prev.t) / 1000;
    const sameChannel = prev.contentId !== undefined && prev.contentId === cur.contentId;
    const due = sameChannel ? cur.due - prev.due : cur.due;
    const onTime = sameChannel ? cur.onTime - prev.onTime : cur.onTime;
    const watched = s.contents.find((c) => c.id === cur.contentId);
    const sample: Sample = {
      t,
      continuity: cur.contentId !== undefined && due > 0 ? Math.max(0, Math.min(1, onTime / due)) : null,
      lagMs: watched?.lagMs ?? null,
      inBps: Math.max(0, (cur.bytesIn - prev.bytesIn) / dt),
      outBps: Math.max(0, (cur.bytesOut - prev.bytesOut) / dt),
      partners: watched?.partners ?? 0,
      bufferBytes: s.memory.bufferBytes,
    };
    this.samples.push(sample);
    if (this.samples.length > this.capacity) this.samples.splice(0, this.samples.length - this.capacity);
    return sample;
  }

  all(): Sample[] {
    return [...this.samples];
  }

  latest(): Sample | undefined {
    return this.samples[this.samples.length - 1];
  }
}
