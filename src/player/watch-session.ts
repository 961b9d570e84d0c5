// What the TV shows: the channel being watched flows from the engine (chunks in order, skips at
// their deadline) into a LiveOutput served on local HTTP, which mpv plays. The output follows the
// engine's playhead (the one playback clock: `scheduleOf`); the continuity the box reports for the
// channel is that clock's. One player per box; switching channels swaps the output and tells mpv to
// load the new URL (with an OSD line).
import type { ChunkRecord } from '../engine/live-ports.js';
import type { Logger } from '../platform/logger.js';
import { LiveOutput, type PlaybackSchedule } from './live-output.js';
import type { MpvPlayer } from './mpv-process.js';
import type { StreamServer } from './stream-server.js';

export interface WatchStats {
  contentId: string;
  name: string;
  url: string;
  /** Join → first frame in mpv (ms), when a player is attached and has shown one. */
  firstFrameMs: number | null;
  stalls: number;
  /** Ids the player was told are missing (skipped by the playhead). */
  discontinuities: number;
  bytesToPlayer: number;
  recording: { file: string; bytesWritten: number } | null;
}

interface Current {
  contentId: string;
  name: string;
  output: LiveOutput;
  joinedAt: number;
  firstFrameMs: number | null;
}

/** A path segment the stream server accepts: the channel's name when it is tame, else its id. */
function streamName(name: string, contentId: string): string {
  return /^[0-9A-Za-z._-]{1,64}$/.test(name) ? name : contentId.slice(0, 64);
}

export class WatchSession {
  private cur: Current | undefined;

  constructor(
    private readonly o: {
      server: StreamServer;
      player: MpvPlayer | undefined;
      chunkMs: number;
      prebufferMs: number;
      /** The engine's playhead over a channel: the clock its output follows. */
      scheduleOf: (contentId: string) => PlaybackSchedule | undefined;
      playerBufferMs: number;
      recordFile: string;
      log: Logger;
    },
  ) {
    o.player?.on('first-frame', () => {
      const c = this.cur;
      if (c && c.firstFrameMs === null) {
        c.firstFrameMs = Date.now() - c.joinedAt;
        o.log.info({ contentId: c.contentId, firstFrameMs: c.firstFrameMs }, 'first frame on the TV');
      }
    });
  }

  current(): { contentId: string; name: string } | undefined {
    return this.cur && { contentId: this.cur.contentId, name: this.cur.name };
  }

  /** Starts showing a channel (the engine side has been started by the caller). */
  async watch(contentId: string, name: string): Promise<void> {
    if (this.cur?.contentId === contentId) return;
    await this.stop();
    const output = new LiveOutput({
      schedule: { dueAt: (seq) => this.o.scheduleOf(contentId)?.dueAt(seq) },
      prebufferMs: this.o.prebufferMs,
      playerBufferMs: this.o.playerBufferMs,
      onWarning: (w) => this.o.log.warn(w, w.message),
    });
    const path = streamName(name, contentId);
    await this.o.server.addChannel(path, output, this.o.recordFile ? { recordFile: this.o.recordFile } : {});
    this.cur = { contentId, name: path, output, joinedAt: Date.now(), firstFrameMs: null };
    const player = this.o.player;
    if (player) {
      try {
        await player.play(this.o.server.url(path));
        await player.osd(`▶ ${name}`).catch(() => undefined);
      } catch (err) {
        this.o.log.error({ err: (err as Error).message }, 'the player could not start the channel; still relaying');
      }
    }
  }

  onChunk(contentId: string, chunk: ChunkRecord): void {
    if (this.cur?.contentId === contentId) this.cur.output.push(chunk.id, this.o.chunkMs, chunk.data);
  }

  /** The engine's playhead started: the player starts with it. */
  onPlaybackStarted(contentId: string): void {
    if (this.cur?.contentId === contentId) this.cur.output.clockMoved();
  }

  onSkip(contentId: string, chunkId: number): void {
    if (this.cur?.contentId === contentId) this.cur.output.skip(chunkId);
  }

  async stop(): Promise<void> {
    const c = this.cur;
    if (!c) return;
    this.cur = undefined;
    await this.o.player?.stop().catch(() => undefined);
    await this.o.server.removeChannel(c.name);
    c.output.close();
  }

  stats(): WatchStats | undefined {
    const c = this.cur;
    if (!c) return undefined;
    const s = this.o.server.channelStats(c.name);
    return {
      contentId: c.contentId,
      name: c.name,
      url: s.url,
      firstFrameMs: c.firstFrameMs,
      // mpv's stall count restarts with every play(): it is this channel's.
      stalls: this.o.player?.stallCount ?? 0,
      discontinuities: s.output.discontinuities,
      bytesToPlayer: s.output.bytesOut,
      recording: s.recording ? { file: s.recording.file, bytesWritten: s.recording.bytesWritten } : null,
    };
  }
}
