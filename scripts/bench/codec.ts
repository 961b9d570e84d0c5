// Codec + framing throughput: encodeFrame then FrameDecoder.push, for a 64 KiB DataChunkResp and a
// 600-bit BufferMapInfo, beside a raw Buffer.copy of the same number of bytes measured in the same
// run. Each figure is the median of several timed repetitions after a warm-up.
//
//   npx tsx scripts/bench/codec.ts        (or: npm run bench:codec)
//
// Writes bench-results/codec.json and bench-results/codec.svg.
import { encodeFrame, FrameDecoder } from '../../src/protocol/framing.js';
import type { Message } from '../../src/protocol/messages.js';
import { barChart } from './lib/plot.js';
import { machineInfo, printTable, writePlot, writeResult } from './lib/report.js';

/** Timed repetitions per figure (median reported). */
const REPETITIONS = 7;
/** Target duration of one repetition, and of the warm-up. */
const REPETITION_MS = 200;
const WARMUP_MS = 300;

interface Case {
  name: string;
  msg: Message;
}

const CASES: Case[] = [
  {
    name: 'DataChunkResp 64 KiB',
    msg: {
      type: 'DataChunkResp',
      peerId: 'peer-0123456789abcdef',
      contentId: 'channel-0123456789abcdef',
      chunkId: 123_456,
      timestampMs: 1_790_000_000_000,
      signature: new Uint8Array(64).fill(0x5a),
      data: Buffer.alloc(64 * 1024, 0x47), // 0x47: MPEG-TS sync byte
    },
  },
  {
    name: 'BufferMapInfo 600 bits',
    msg: {
      type: 'BufferMapInfo',
      peerId: 'peer-0123456789abcdef',
      contentId: 'channel-0123456789abcdef',
      baseId: 123_000,
      length: 600,
      bits: new Uint8Array(75).fill(0xf7),
    },
  },
];

/** Keeps results observable so the JIT cannot drop the work. */
let sink = 0;

/** Runs `op` n times and returns the elapsed milliseconds. */
function timeRun(op: () => void, n: number): number {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) op();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

/** Warm-up, calibrate ops per repetition, then REPETITIONS timed runs; returns ops/s per run. */
function measure(op: () => void): number[] {
  let n = 1;
  let warm = 0;
  while (warm < WARMUP_MS) {
    const ms = timeRun(op, n);
    warm += ms;
    if (ms < REPETITION_MS / 4) n *= 2;
  }
  const perOpMs = timeRun(op, n) / n;
  const opsPerRep = Math.max(1, Math.round(REPETITION_MS / Math.max(perOpMs, 1e-6)));
  const rates: number[] = [];
  for (let r = 0; r < REPETITIONS; r++) rates.push(opsPerRep / (timeRun(op, opsPerRep) / 1000));
  return rates;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

interface Figure {
  message: string;
  op: string;
  frameBytes: number;
  msgsPerSec: number;
  mbPerSec: number;
  samplesMsgsPerSec: number[];
}

function run(c: Case): Figure[] {
  const frame = encodeFrame(c.msg);
  const decoder = new FrameDecoder({ maxPayloadBytes: 1 << 20 });
  const copyDst = Buffer.allocUnsafe(frame.length);
  const ops: [string, () => void][] = [
    [
      'encode+decode',
      () => {
        const out = decoder.push(encodeFrame(c.msg));
        sink += out.length;
      },
    ],
    ['encode', () => void (sink += encodeFrame(c.msg).length)],
    ['decode', () => void (sink += decoder.push(frame).length)],
    ['Buffer.copy', () => void (sink += frame.copy(copyDst))],
  ];
  return ops.map(([op, fn]) => {
    const samples = measure(fn);
    const msgsPerSec = median(samples);
    return {
      message: c.name,
      op,
      frameBytes: frame.length,
      msgsPerSec,
      mbPerSec: (msgsPerSec * frame.length) / 1e6,
      samplesMsgsPerSec: samples.map((s) => Math.round(s)),
    };
  });
}

function main(): void {
  const machine = machineInfo();
  console.log(`codec benchmark — node ${machine.node}, ${machine.cpuModel} ×${machine.cpuCount}`);
  console.log(`median of ${REPETITIONS} × ~${REPETITION_MS} ms after ${WARMUP_MS} ms warm-up; MB = 10^6 frame bytes\n`);
  const figures = CASES.flatMap(run);
  const copyRate = (message: string): number => figures.find((f) => f.message === message && f.op === 'Buffer.copy')!.mbPerSec;
  printTable(
    figures.map((f) => ({
      message: f.message,
      op: f.op,
      'frame bytes': f.frameBytes,
      'MB/s': Math.round(f.mbPerSec),
      'msgs/s': Math.round(f.msgsPerSec),
      'vs copy': `${((100 * f.mbPerSec) / copyRate(f.message)).toFixed(1)}%`,
    })),
  );
  const json = writeResult('codec', {
    benchmark: 'codec',
    description: 'encodeFrame + FrameDecoder.push throughput vs Buffer.copy of the same bytes',
    machine,
    method: { repetitions: REPETITIONS, repetitionMs: REPETITION_MS, warmupMs: WARMUP_MS, statistic: 'median', mb: 1e6 },
    results: figures,
  });
  const svg = writePlot(
    'codec',
    barChart({
      title: `Codec + framing throughput (node ${machine.node}, median of ${REPETITIONS})`,
      unit: 'MB/s',
      log: true,
      bars: figures.map((f) => ({ label: `${f.message} · ${f.op}`, value: f.mbPerSec })),
    }),
  );
  console.log(`\nwrote ${json}\nwrote ${svg}${sink < 0 ? '' : ''}`);
}

main();
