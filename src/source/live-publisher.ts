// The source role of a live channel: chunks the input, signs every chunk with the channel key and
// hands it to the engine, which advertises and serves it like any other peer's chunk.
import type { LiveChannels } from '../engine/live-channels.js';
import type { Logger } from '../platform/logger.js';
import type { ChannelKeys } from './chunk-signing.js';
import { signChunk } from './chunk-signing.js';
import { liveChunks, type LiveInputSpec } from './live-input.js';

export interface PublisherStats {
  chunks: number;
  streamBytes: number;
  lastSeq: number | null;
  inputEnded: boolean;
}

export class LivePublisher {
  private readonly abort = new AbortController();
  private readonly st: PublisherStats = { chunks: 0, streamBytes: 0, lastSeq: null, inputEnded: false };
  private warned = new Set<string>();

  constructor(
    private readonly o: {
      keys: ChannelKeys;
      live: LiveChannels;
      input: LiveInputSpec;
      chunkMs: number;
      log: Logger;
      /** Applied to each chunk's payload before signing (a protected channel encrypts here: src/drm/live-protect.ts). */
      transform?: (seq: number, data: Uint8Array) => Uint8Array;
    },
  ) {}

  get channelId(): string {
    return this.o.keys.channelId;
  }

  /** Runs until the input ends (a file without --loop) or stop(); rejects on an input error. */
  async run(): Promise<void> {
    const { keys, live, log } = this.o;
    const chunks = liveChunks(this.o.input, {
      chunkMs: this.o.chunkMs,
      signal: this.abort.signal,
      onWarning: (w) => {
        // The first warning of each kind is logged; repeats only at debug level.
        if (this.warned.has(w.code)) log.debug(w, w.message);
        else log.warn(w, w.message);
        this.warned.add(w.code);
      },
    });
    for await (const c of chunks) {
      if (this.abort.signal.aborted) break;
      const timestampMs = Date.now();
      const data = this.o.transform ? this.o.transform(c.seq, c.data) : c.data;
      const signature = signChunk(keys.privateKey, keys.channelId, c.seq, timestampMs, data);
      live.publishChunk(keys.channelId, { id: c.seq, timestampMs, signature, data });
      this.st.chunks++;
      this.st.streamBytes += c.data.length;
      this.st.lastSeq = c.seq;
    }
    this.st.inputEnded = !this.abort.signal.aborted;
    if (this.st.inputEnded) log.info({ chunks: this.st.chunks }, 'live input ended');
  }

  stop(): void {
    this.abort.abort();
  }

  stats(): PublisherStats {
    return { ...this.st };
  }
}
