// Where a live source's MPEG-TS comes from: a file (paced at real time from its PCR, optionally
// looped), standard input, or UDP datagrams (both taken as they arrive). Yields time-fixed chunks.
import { createSocket } from 'node:dgram';
import { TsChunker, type SourceWarning, type TsChunk } from './ts-chunker.js';
import { readFileBlocks, TsPacer, type PacerWarning } from './ts-pacer.js';

export type LiveInputSpec = { kind: 'file'; path: string; loop: boolean } | { kind: 'stdin' } | { kind: 'udp'; host: string; port: number };

/** Parses `--input FILE|-|udp://HOST:PORT`; returns an error text for anything else. */
export function parseLiveInput(text: string, loop: boolean): LiveInputSpec | string {
  if (text === '-') return { kind: 'stdin' };
  const m = /^udp:\/\/([^:]+|\[[^\]]+\]):(\d+)$/.exec(text);
  if (m) {
    const port = Number(m[2]);
    if (port < 1 || port > 65535) return `--input ${text}: UDP port must be 1..65535`;
    return { kind: 'udp', host: (m[1] as string).replace(/^\[|\]$/g, ''), port };
  }
  if (text.startsWith('udp:')) return `--input ${text}: expected udp://HOST:PORT`;
  if (!text) return '--input: expected a file, - (stdin) or udp://HOST:PORT';
  return { kind: 'file', path: text, loop };
}

export interface LiveInputOptions {
  chunkMs: number;
  signal: AbortSignal;
  onWarning: (w: SourceWarning | PacerWarning) => void;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Chunks from arriving bytes (stdin, UDP): no pacing, the input is already live. */
async function* chunkArriving(blocks: AsyncIterable<Uint8Array>, o: LiveInputOptions): AsyncGenerator<TsChunk> {
  const chunker = new TsChunker({ chunkMs: o.chunkMs, onWarning: o.onWarning });
  for await (const b of blocks) {
    if (o.signal.aborted) return;
    yield* chunker.push(Buffer.from(b));
  }
  yield* chunker.flush();
}

async function* udpBlocks(host: string, port: number, signal: AbortSignal): AsyncGenerator<Uint8Array> {
  const sock = createSocket(host.includes(':') ? 'udp6' : 'udp4');
  const queue: Buffer[] = [];
  let wake: (() => void) | undefined;
  let failure: Error | undefined;
  sock.on('message', (m) => {
    if (queue.length < 4096) queue.push(m); // ~5 MB of TS: drop beyond rather than grow
    wake?.();
  });
  sock.on('error', (e) => {
    failure = e;
    wake?.();
  });
  signal.addEventListener('abort', () => wake?.());
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(port, host, () => resolve());
  });
  try {
    while (!signal.aborted) {
      if (failure) throw new Error(`UDP input ${host}:${port}: ${failure.message}`);
      const next = queue.shift();
      if (next) yield next;
      else await new Promise<void>((r) => (wake = r));
    }
  } finally {
    sock.close();
  }
}

export function liveChunks(spec: LiveInputSpec, o: LiveInputOptions): AsyncGenerator<TsChunk> {
  switch (spec.kind) {
    case 'file':
      return new TsPacer({
        open: () => readFileBlocks(spec.path),
        loop: spec.loop,
        clock: { now: () => Date.now() },
        sleep,
        chunker: { chunkMs: o.chunkMs },
        signal: o.signal,
        onWarning: o.onWarning,
      }).chunks();
    case 'stdin':
      return chunkArriving(process.stdin, o);
    case 'udp':
      return chunkArriving(udpBlocks(spec.host, spec.port, o.signal), o);
  }
}
