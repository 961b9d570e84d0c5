// Test media made with ffmpeg: an MPEG-TS (H.264 testsrc + AAC sine) with a keyframe every second,
// and helpers to check a file with ffprobe / by decoding it with ffmpeg.
import { spawnSync } from 'node:child_process';

export interface TestStreamOptions {
  seconds: number;
  /** Target mux rate of the whole stream (video gets about 80%, audio 64 kbit/s). */
  bitrateKbps: number;
  /** Output file (.ts). */
  path: string;
  /** Frames per second; the GOP is one second of frames. Default 25. */
  fps?: number;
  /** Frame size, default 320x240. */
  size?: string;
}

/** Writes the stream with ffmpeg and returns its path; throws with ffmpeg's stderr on failure. */
export function makeTestStream(opts: TestStreamOptions): string {
  const fps = opts.fps ?? 25;
  const audioKbps = 64;
  const videoKbps = Math.max(100, Math.floor(opts.bitrateKbps * 0.8) - audioKbps);
  const args = [
    '-hide_banner', '-nostdin', '-v', 'error', '-y',
    '-f', 'lavfi', '-i', `testsrc=size=${opts.size ?? '320x240'}:rate=${fps}`,
    '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-t', String(opts.seconds),
    '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p',
    '-g', String(fps), '-keyint_min', String(fps), '-sc_threshold', '0',
    '-b:v', `${videoKbps}k`, '-maxrate', `${videoKbps}k`, '-bufsize', `${videoKbps}k`,
    '-c:a', 'aac', '-b:a', `${audioKbps}k`,
    '-f', 'mpegts', '-muxrate', `${opts.bitrateKbps}k`,
    opts.path,
  ];
  const r = spawnSync('ffmpeg', args, { encoding: 'utf8' });
  if (r.error) throw new Error(`ffmpeg could not start (${r.error.message}); is ffmpeg installed?`);
  if (r.status !== 0) throw new Error(`ffmpeg failed (${r.status}): ${r.stderr.slice(0, 2000)}`);
  return opts.path;
}

/** ffprobe reads the file and finds at least one stream. */
export function ffprobeOk(path: string): boolean {
  const r = spawnSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_type', '-of', 'csv=p=0', path], {
    encoding: 'utf8',
  });
  return r.status === 0 && r.stderr.trim() === '' && r.stdout.trim().length > 0;
}

/** Decodes the whole file (`ffmpeg -v error -i path -f null -`) and returns ffmpeg's error lines. */
export function ffmpegDecodeErrors(path: string): string[] {
  const r = spawnSync('ffmpeg', ['-hide_banner', '-nostdin', '-v', 'error', '-i', path, '-f', 'null', '-'], {
    encoding: 'utf8',
  });
  const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
  if (r.status !== 0 && lines.length === 0) lines.push(`ffmpeg exited with status ${r.status}`);
  return lines;
}
