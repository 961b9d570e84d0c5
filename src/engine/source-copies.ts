// The source's serving budget (keeps its upload near `maxCopiesPct` % of the stream without starving
// anyone): a token allowance grows by maxCopiesPct/100 copies per published chunk (capped at a small
// allowance) and every copy served spends one. A request is *deferrable* when the source already
// served that chunk (a copy is in the swarm, and its receiver passes it on); a deferrable request is
// refused ('busy') while the allowance is spent, and the requester turns to a partner that has it.
// Never deferred: the chunk's first copy, a chunk close to the requester's playback deadline
// (urgent) and a newcomer's request (it holds fewer chunks than its prebuffer). Urgent is read from
// the deadline the request carries (a DataChunkDue: due in less than `urgentDueMs`, a chunk's time
// for the transfer); a request without one (an older peer) is urgent when the chunk is older than
// `urgentAgeMs`, the deadline of a viewer at the least lag less a chunk for the transfer. A viewer that plays further behind
// is not urgent by age alone: its deadline is later. Pure and deterministic.

export interface SourceCopiesOptions {
  /** Copies served per published chunk on average (percent); 0 = no budget. */
  maxCopiesPct: number;
  /** A request due (at the requester's playhead) sooner than this is urgent. */
  urgentDueMs: number;
  /** Without a deadline in the request: a chunk this old (since it was published) is urgent. */
  urgentAgeMs: number;
  /** A requester holding fewer chunks than this is a newcomer. */
  newcomerChunks: number;
}

/** What the source knows of one request when it decides. */
export interface CopyRequest {
  chunkId: number;
  peerId: string;
  /** Chunks the requester's latest map shows (0 when no map yet). */
  requesterHolds: number;
  /** The requester plays the chunk in this many ms (absent: the request carried no deadline). */
  dueInMs?: number;
}

interface Chunk {
  publishedAt: number;
  served: number;
}

/** Tokens never go above this many copies (nor below minus this): the small allowance. */
const ALLOWANCE_COPIES = 3;

export class SourceCopies {
  private readonly chunks = new Map<number, Chunk>();
  private tokens = 0;

  constructor(private readonly opts: SourceCopiesOptions) {
    if (!Number.isFinite(opts.maxCopiesPct) || opts.maxCopiesPct < 0) throw new RangeError(`maxCopiesPct must be >= 0 (got ${opts.maxCopiesPct})`);
  }

  get active(): boolean {
    return this.opts.maxCopiesPct > 0;
  }

  /** The spendable allowance (copies). */
  get allowance(): number {
    return this.tokens;
  }

  onPublish(chunkId: number, now: number): void {
    this.chunks.set(chunkId, { publishedAt: now, served: 0 });
    this.tokens = Math.min(ALLOWANCE_COPIES, this.tokens + this.opts.maxCopiesPct / 100);
  }

  /** Whether to serve the request now (false: answer 'busy'). */
  admit(r: CopyRequest, now: number): boolean {
    if (!this.active) return true;
    const c = this.chunks.get(r.chunkId);
    if (!c) return true; // not published here (or forgotten): nothing to budget
    const urgent = r.dueInMs !== undefined ? r.dueInMs < this.opts.urgentDueMs : now - c.publishedAt >= this.opts.urgentAgeMs;
    const deferrable = c.served > 0 && !urgent && r.requesterHolds >= this.opts.newcomerChunks;
    return !deferrable || this.tokens >= 1;
  }

  /** A copy of the chunk left the source. */
  onServed(chunkId: number): void {
    const c = this.chunks.get(chunkId);
    if (c) c.served++;
    if (this.active) this.tokens = Math.max(-ALLOWANCE_COPIES, this.tokens - 1);
  }

  /** Forgets chunks below `chunkId` (they left the window). */
  forgetBelow(chunkId: number): void {
    for (const id of this.chunks.keys()) if (id < chunkId) this.chunks.delete(id);
  }
}
