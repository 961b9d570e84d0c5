// The on-demand picker (docs/downloads.md "Playing while it downloads"): a download being played.
// A Picker beside DownloadPicker, over the same context, chosen while a playback position is set:
//  - Playback window: the pieces from the playhead's piece on, as many as the measured playback
//    rate (bytes/s the player reads) covers in windowMs, clamped to [minWindowPieces,
//    maxWindowPieces]; minWindowPieces while the player holds no media. The playhead is where the player reads, which is ahead of what it shows by
//    the media it has buffered: piece i is due when that buffer runs dry (the player says how much
//    it holds, setPlayhead's `ahead`) plus (i − playhead) × pieceBytes ÷ rate. A viewer with
//    seconds in hand therefore does not compete as "due now" with one about to stall. Missing
//    pieces due within urgentMs are asked for in deadline order, the rest of the window rarest first
//    (ties at random), each of the partner expected to deliver soonest: viewers near one playhead
//    fetch different pieces and trade them instead of all asking the seed for the same next one.
//  - Urgent pieces (due within urgentMs) may go to urgentCopies partners at once: whichever answers
//    first wins, the other costs one piece. An urgent piece whose one request is overdue (past the
//    time its partner was expected to deliver) is also asked of a partner expected by its deadline.
//  - What the first frame waits for: while the player holds no media (before its first frame, after
//    a seek until it plays on) it reads headBytes from the playhead, then the file's last tailBytes
//    (MPEG-TS duration, an MP4 index at the end), waiting for each piece. Those pieces are asked for
//    first, in that order, each due startMs after the play or the seek: a holder serving the
//    earliest deadline first puts a viewer starting ahead of pieces other viewers need later, and
//    behind those that would otherwise stall sooner.
//  - Spread: a piece needed now (what the first frame waits for) goes to a partner that holds none
//    of the others we need now, waiting up to spreadMs for one (0, the default, never waits: with a
//    single holder the wait queued one needed piece at a time there, behind pieces due later).
//  - Hedged requests: a piece needed now that waits at a partner behind
//    another one we need now is also asked of a partner with nothing in flight from us (a play's
//    first pick often sees one partner and queues every piece the first frame needs there), and one
//    still missing hedgeMs after it was asked is also asked of such a partner. Whichever copy
//    arrives first cancels the other. Off unless hedgeMs > 0 (download.playHedgeMs).
//  - Beyond the window: rarest first with the endgame (DownloadPicker), so the swarm keeps its
//    diversity and the whole file still arrives. While a window piece waits for a supplier, every
//    partner keeps one request slot free for it. Requests other than for the playhead's piece go
//    only to partners expected to deliver within urgentMs / 2, or a window piece by its deadline:
//    our queue at each partner stays short, so after a seek the new window's first piece does not
//    wait long behind pieces no longer needed (a partner that takes cancels drops them, and one that
//    takes deadlines serves the new piece, due at once, first).
//  - Each window and tail request carries its deadline (ChunkRequest.dueInMs): a
//    partner that takes DataChunkDue serves it before requests without one (other viewers'
//    rarest-first pieces), earliest first.
//  - Seeking (setPlayhead) moves the window at once (DownloadKind keeps it where it is for a read
//    in the tail, the player probing the file's end); cancellable() names the requests in flight for
//    pieces of the old window that the new one no longer needs, for the fetcher to drop.
import { DownloadPicker, bestSlot, holders, supplierSlots, takeSlot, type Slot } from './download-picker.js';
import { soonestSupplier, type ChunkRequest, type PickContext, type Picker } from './picker.js';
import type { InFlightRequest, RequestQueue } from './request-queue.js';

export interface OnDemandPickerOptions {
  /** Endgame: most requests in flight for one piece beyond the window. */
  endgameCopies: number;
  /** Playback time the window covers ahead of the playhead. */
  windowMs: number;
  minWindowPieces: number;
  maxWindowPieces: number;
  /** A window piece due sooner than this is urgent. */
  urgentMs: number;
  /** Most requests in flight for one urgent piece. */
  urgentCopies: number;
  /** The file's last bytes, fetched right after the playhead's piece (players probe the end: duration, index). */
  tailBytes: number;
  /** Bytes from the playhead the player reads before it shows anything (with the tail, what its first frame waits for; 0: the playhead's piece only). */
  headBytes?: number;
  /** What the first frame waits for is due this long after the play or a seek (0: at once). */
  startMs?: number;
  /** A piece needed now waits up to this long for a partner holding none of the others (see spread(); 0: never waits). */
  spreadMs?: number;
  /** Hedged requests (see hedge()): a piece needed now still missing this long after it was asked is asked of a second partner (0: no hedged requests at all). */
  hedgeMs?: number;
}

export interface PlaybackWindow {
  /** First piece of the window (the playhead's). */
  from: number;
  /** One past its last piece. */
  to: number;
}

export class OnDemandPicker implements Picker {
  endgame = false;
  private playhead = 0;
  private rateBps = 0;
  /** When the player's buffer runs dry if nothing more arrives (its media ahead of what it shows). */
  private dryAt: number | undefined;
  /** When the player, holding no media, started waiting (the play, a seek): set at the next pick. */
  private startAt: number | undefined;
  private readonly rest: DownloadPicker;
  private lastWindow: PlaybackWindow = { from: 0, to: 0 };
  private tailOverride: number | undefined;
  private headOverride: number | undefined;
  /** Pieces needed now waiting for a partner of their own (spread()), since when. */
  private readonly neededSince = new Map<number, number>();

  constructor(private readonly opts: OnDemandPickerOptions) {
    this.rest = new DownloadPicker({ endgameCopies: opts.endgameCopies });
  }

  /**
   * The player reads at (or seeks to) piece `piece`; `rateBps` is its measured read rate (0:
   * unknown); `ahead`: at time `at`, it held `ms` of media beyond what it shows (absent: none known,
   * and after a move the piece it reads is due at once).
   */
  setPlayhead(piece: number, rateBps: number, ahead?: { ms: number; at: number }): void {
    const moved = this.playhead !== Math.max(0, Math.floor(piece));
    this.playhead = Math.max(0, Math.floor(piece));
    if (Number.isFinite(rateBps) && rateBps > 0) this.rateBps = rateBps;
    if (ahead && Number.isFinite(ahead.ms) && ahead.ms >= 0) this.dryAt = ahead.at + ahead.ms;
    else if (moved) this.dryAt = undefined;
    if (moved) this.startAt = undefined;
  }

  /** The file's tail fetched before the first frame from now on (bytes; undefined: tailBytes of the options). */
  setTailBytes(bytes: number | undefined): void {
    this.tailOverride = bytes === undefined || !(bytes >= 0) ? undefined : bytes;
  }

  /**
   * What the first frame waits for from the playhead from now on (bytes; undefined: headBytes of
   * the options): the media the box holds before the player starts. The window before the player
   * holds media spans it (the options' head, the player's own probe, fits in the least window).
   */
  setHeadBytes(bytes: number | undefined): void {
    this.headOverride = bytes === undefined || !(bytes >= 0) ? undefined : bytes;
  }

  get playheadPiece(): number {
    return this.playhead;
  }

  /** The pieces the window spans now, for a file of `pieceCount` pieces of `pieceBytes`. */
  window(pieceBytes: number, pieceCount: number): PlaybackWindow {
    const o = this.opts;
    // Until the player holds media (before its first frame, after a seek until it plays on) the
    // window is the least: a viewer starting asks for what its first frame needs, not for seconds
    // of pieces that holders serving the earliest deadline first would put ahead of playing
    // viewers' pieces (told the duration, a start knows the rate at once: docs/simulator.md) — all
    // of what the box holds before the player starts (setHeadBytes), at once.
    const held = this.headOverride === undefined ? 0 : this.headTo(pieceBytes) - this.playhead;
    const covered = this.rateBps > 0 && this.dryAt !== undefined ? Math.ceil((this.rateBps * o.windowMs) / 1000 / pieceBytes) : Math.max(o.minWindowPieces, held);
    const n = Math.min(o.maxWindowPieces, Math.max(o.minWindowPieces, covered));
    const from = Math.min(this.playhead, pieceCount);
    return { from, to: Math.min(pieceCount, from + n) };
  }

  /**
   * Requests in flight for pieces the old window (before a seek) asked for that the new one will not
   * reach soon: behind the new playhead, or beyond the new window and one more window's length. One
   * just ahead stays (mpv reads a film's first second, then its end, then plays from the start: the
   * window is at its smallest until the rate is measured, and those pieces are next).
   */
  cancellable(requests: RequestQueue, pieceBytes: number, pieceCount: number): InFlightRequest[] {
    const w = this.window(pieceBytes, pieceCount);
    const old = this.lastWindow;
    const out: InFlightRequest[] = [];
    for (let id = old.from; id < old.to; id++) {
      if (id >= w.from && id < w.to + (w.to - w.from)) continue;
      out.push(...requests.forChunk(id));
    }
    this.lastWindow = w;
    return out;
  }

  /**
   * Time until piece `id` is due (ms): when the player's buffer runs dry, plus its distance from the
   * playhead at the measured rate (Infinity before any rate is known beyond the playhead's piece).
   */
  dueInMs(id: number, pieceBytes: number, now: number): number {
    const slack = this.dryAt === undefined ? this.startSlack(now) : Math.max(0, this.dryAt - now);
    const ahead = id - this.playhead;
    if (ahead <= 0 || id < this.headTo(pieceBytes)) return slack;
    return this.rateBps > 0 ? slack + (ahead * pieceBytes * 1000) / this.rateBps : Infinity;
  }

  pick(ctx: PickContext): ChunkRequest[] {
    const { requests } = ctx;
    const count = ctx.toId;
    const w = this.window(ctx.chunkBytes, count);
    this.lastWindow = w;
    const slots = supplierSlots(ctx);
    const out: ChunkRequest[] = [];
    let waiting = false;
    // Requests other than for the playhead's piece go only where they are expected within half the
    // urgent time or by their deadline, so a partner's queue of our requests stays short and a
    // seek's first piece does not wait behind it.
    const horizon = ctx.now + this.opts.urgentMs / 2;
    const tail = this.tailFrom(count, ctx.chunkBytes);
    const starting = this.dryAt === undefined;
    if (starting) this.startAt ??= ctx.now;
    const headEnd = this.headTo(ctx.chunkBytes);
    // Pieces needed now (what the first frame waits for; the playhead's with the buffer dry) in
    // flight at each partner, in our order so far.
    const neededAt = new Map<string, number>();
    for (const id of this.order(w, count, ctx, slots)) {
      if (ctx.has(id)) {
        this.neededSince.delete(id);
        continue;
      }
      const already = requests.forChunk(id);
      // The tail is read before the first frame, with the head.
      const inTail = id >= tail && id >= w.to;
      const dueIn = inTail ? this.startSlack(ctx.now) : this.dueInMs(id, ctx.chunkBytes, ctx.now);
      const needed = (starting && (id < headEnd || inTail)) || (id === w.from && dueIn === 0);
      const urgent = dueIn < this.opts.urgentMs;
      // The deadline the request carries: before the rate is known, a window piece is taken as due in urgentMs.
      const dueInMs = Number.isFinite(dueIn) ? dueIn : this.opts.urgentMs;
      const copies = urgent ? this.opts.urgentCopies : 1;
      if (already.length >= copies) {
        if (needed && already.length === 1) this.hedge(ctx, slots, id, dueInMs, already[0]!, neededAt, out);
        else if (urgent && already.length === 1) this.rescue(ctx, slots, id, already[0]!, dueIn, out);
        continue;
      }
      if (needed && already.length === 0) {
        const placed = this.spread(ctx, slots, id, dueInMs, neededAt, out);
        if (placed === 'wait') waiting = true;
        if (placed !== 'any') continue;
      }
      const asked: Array<{ peerId: string }> = [...already];
      while (asked.length < copies) {
        const best = bestSlot(ctx, slots, id, asked);
        if (!best || (id !== w.from && best.at > Math.max(horizon, Number.isFinite(dueIn) ? ctx.now + dueIn : 0))) break;
        out.push({ ...takeSlot(best.slot, id, best.at, asked.length > 0, ctx.chunkBytes), dueInMs });
        asked.push({ peerId: best.slot.peerId });
        if (needed) neededAt.set(best.slot.peerId, (neededAt.get(best.slot.peerId) ?? 0) + 1);
      }
      if (asked.length === 0 && slots.some((s) => s.map?.has(id) && !requests.isExcluded(id, s.peerId))) waiting = true;
    }
    // A window piece no partner could take now: keep one slot per partner free for it.
    if (waiting) {
      for (const s of slots) {
        if (s.cap > 1) s.cap--;
        if (s.count >= s.cap) s.open = false;
      }
    }
    const picked = this.rest.pickWith(ctx, slots, (id) => (id >= w.from && id < w.to) || id >= tail, horizon);
    this.endgame = this.rest.endgame;
    return out.concat(picked);
  }

  /**
   * A piece needed now (the playhead's, the tail's) not yet asked for goes to a partner that holds
   * none of the others we need now: the first frame waits for the last of them, and one partner
   * sends them one after the other. When every partner that could take it holds one, it waits up
   * to spreadMs for another partner (a play's first pick often sees one; more come within a few
   * hundred ms), costing nothing while the first partner is still sending the piece before it.
   * 'placed', 'wait' (not asked yet), or 'any' (asked as any other piece).
   */
  private spread(ctx: PickContext, slots: Slot[], id: number, dueInMs: number, neededAt: Map<string, number>, out: ChunkRequest[]): 'placed' | 'wait' | 'any' {
    const spreadMs = this.opts.spreadMs ?? 0;
    if (spreadMs <= 0) return 'any';
    const free = soonestSupplier(ctx, slots, id, undefined, (s) => s.open && !neededAt.has(s.peerId));
    if (free) {
      out.push({ ...takeSlot(free.slot, id, free.at, false, ctx.chunkBytes), dueInMs });
      neededAt.set(free.slot.peerId, 1);
      this.neededSince.delete(id);
      return 'placed';
    }
    const since = this.neededSince.get(id) ?? ctx.now;
    this.neededSince.set(id, since);
    if (ctx.now - since < spreadMs && slots.some((s) => s.map?.has(id))) return 'wait';
    this.neededSince.delete(id);
    return 'any';
  }

  /**
   * Hedged requests for a piece needed now (the playhead's or the tail's), asked of one partner, `r`:
   *  - waiting there behind another piece we need now: also asked of a partner with nothing in flight
   *    from us, which can start on it at once. A play's first pick often sees a single partner and
   *    queues every piece the first frame needs there; partners that come a moment later fetch them
   *    side by side.
   *  - still missing hedgeMs after it was asked (the partner's uplink is busier than its estimate
   *    said): also asked of such a partner.
   * Off unless hedgeMs > 0: in a flash crowd the copies cost other viewers' pieces (docs/downloads.md).
   * The first request is kept (a new partner's speed is a guess until it answers); the copy that
   * loses is cancelled when the other arrives.
   */
  private hedge(ctx: PickContext, slots: Slot[], id: number, dueInMs: number, r: InFlightRequest, neededAt: Map<string, number>, out: ChunkRequest[]): void {
    const ahead = neededAt.get(r.peerId) ?? 0;
    neededAt.set(r.peerId, ahead + 1);
    const hedgeMs = this.opts.hedgeMs ?? 0;
    if (hedgeMs <= 0 || (ahead === 0 && ctx.now - r.sentAt < hedgeMs)) return;
    // Only to a partner with nothing in flight from us: spare upload, where a copy costs no one a slot.
    const other = soonestSupplier(ctx, slots, id, [r], (s) => s.open && s.count === 0);
    if (!other) return;
    out.push({ ...takeSlot(other.slot, id, other.at, true, ctx.chunkBytes), dueInMs });
    neededAt.set(other.slot.peerId, (neededAt.get(other.slot.peerId) ?? 0) + 1);
  }

  /**
   * An urgent window piece whose one request is overdue (past the time its partner was expected to
   * deliver it: asked early, rarest first, of a partner since busy with other viewers' earlier
   * deadlines) is also asked of a partner expected to deliver it by its deadline. The copy that
   * loses is cancelled when the other arrives.
   */
  private rescue(ctx: PickContext, slots: Slot[], id: number, r: InFlightRequest, dueIn: number, out: ChunkRequest[]): void {
    if (ctx.now <= r.expectedAt) return;
    const other = soonestSupplier(ctx, slots, id, [r], (s) => s.open);
    if (!other || other.at > ctx.now + dueIn) return;
    out.push({ ...takeSlot(other.slot, id, other.at, true, ctx.chunkBytes), dueInMs: dueIn });
  }

  /**
   * One past the last piece of the head: while the player holds no media (before its first frame,
   * after a seek until it plays on) it reads headBytes from the playhead before it shows anything
   * (mpv probes the streams of an MPEG-TS film over about a second of it), and waits for each one:
   * those pieces are due with the playhead's, startMs after the play or the seek (asked for only
   * within the window). Once the player holds media, only the playhead's piece.
   */
  /** Time left (ms) until what the first frame waits for is due: startMs after the play or the seek. */
  private startSlack(now: number): number {
    const startMs = this.opts.startMs ?? 0;
    return this.startAt === undefined ? startMs : Math.max(0, this.startAt + startMs - now);
  }

  headTo(pieceBytes: number): number {
    if (this.dryAt !== undefined) return this.playhead + 1;
    return this.playhead + Math.max(1, Math.ceil((this.headOverride ?? this.opts.headBytes ?? 0) / pieceBytes));
  }

  /**
   * First piece of the file's tail (tailBytes). The last piece is usually shorter than the others,
   * so the file's last tailBytes may reach one piece further back than tailBytes ÷ pieceBytes:
   * mpv reads an MPEG-TS file's last 250,000 bytes for its duration, which straddle two pieces.
   */
  tailFrom(count: number, pieceBytes: number): number {
    const tailBytes = this.tailOverride ?? this.opts.tailBytes;
    if (tailBytes <= 0) return count;
    return Math.max(0, count - Math.ceil(tailBytes / pieceBytes) - 1);
  }

  /**
   * The pieces to ask for first: the playhead's, the file's tail, the urgent window pieces in
   * deadline order, then the rest of the window rarest first (fewest partners holding them, ties at
   * random). Viewers near the same playhead then fetch different pieces ahead of it, and trade them,
   * instead of all asking the seed for the same next piece: in a flash crowd the seed sent each piece
   * to viewer after viewer while their uplinks idled. Before the rate is known, deadline order.
   */
  private order(w: PlaybackWindow, count: number, ctx: PickContext, slots: Slot[]): number[] {
    const pieceBytes = ctx.chunkBytes;
    const ids: number[] = [];
    const head = Math.min(w.to, this.headTo(pieceBytes));
    for (let id = w.from; id < head; id++) ids.push(id);
    for (let id = Math.max(this.tailFrom(count, pieceBytes), w.from + 1); id < count; id++) if (id >= w.to) ids.push(id);
    const ahead: Array<{ id: number; rarity: number; tie: number }> = [];
    for (let id = Math.max(head, w.from + 1); id < w.to; id++) {
      if (this.rateBps <= 0 || this.dueInMs(id, pieceBytes, ctx.now) < this.opts.urgentMs) ids.push(id);
      // a piece nobody holds (rarity 0) goes last: it cannot be asked for yet
      else if (!ctx.has(id)) ahead.push({ id, rarity: holders(slots, id) || Number.MAX_SAFE_INTEGER, tie: ctx.random.next() });
    }
    ahead.sort((a, b) => a.rarity - b.rarity || a.tie - b.tie);
    for (const a of ahead) ids.push(a.id);
    return ids;
  }
}

