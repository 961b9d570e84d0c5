import { describe, expect, it } from 'vitest';
import type { DownloadContentStatus } from '../../src/download-node.js';
import { ProgressReporter } from '../../src/download/progress-reporter.js';

function sink(): { stream: NodeJS.WriteStream; lines: () => Array<Record<string, unknown>> } {
  let text = '';
  const stream = { write: (s: string) => ((text += s), true), isTTY: false } as unknown as NodeJS.WriteStream;
  return { stream, lines: () => text.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) };
}

function st(over: Partial<DownloadContentStatus>): DownloadContentStatus {
  return {
    state: 'downloading', name: 'f.bin', sizeBytes: 1000, pieceBytes: 100, pieces: 10, piecesVerified: 0, bytesVerified: 0, progress: 0,
    piecesAtStart: 0, piecesFetched: 0, bytesIn: 0, bytesOut: 0, pieceBytesIn: 0, pieceBytesOut: 0, controlBytesIn: 0, controlBytesOut: 0,
    badPieces: 0, badManifests: 0, duplicates: 0, unsolicited: 0, requestsSent: 0, requestTimeouts: 0, endgameRequests: 0, endgame: false, requestsCancelled: 0, playback: null,
    rejectsReceived: 0, piecesServed: 0, dueRequestsSent: 0, dueRequestsIn: 0, requestsRefused: 0, relayedRefusals: 0, servesCancelled: 0, partnersBlacklisted: 0, seedsReleased: 0, partners: 3,
    partnerIds: [], peersServed: 0, suppliers: [], completedInMs: null, error: null, path: '/tmp/f.bin', title: 'F', ...over,
  };
}

describe('progress reporter (JSON lines)', () => {
  it('reports progress with rates, then complete, then seeding at most every 5 s, or failed', () => {
    const { stream, lines } = sink();
    const r = new ProgressReporter(stream, 'dl-x', true);
    r.update(st({ piecesVerified: 2, bytesVerified: 200, progress: 0.2, pieceBytesIn: 0 }), 0);
    r.update(st({ piecesVerified: 5, bytesVerified: 500, progress: 0.5, pieceBytesIn: 125_000, badPieces: 1 }), 1000);
    r.complete(st({ state: 'seeding', piecesVerified: 10, bytesVerified: 1000, progress: 1, completedInMs: 1500 }), true);
    r.update(st({ state: 'seeding', progress: 1 }), 2000);
    r.update(st({ state: 'seeding', progress: 1 }), 3000);
    r.update(st({ state: 'seeding', progress: 1 }), 7500);
    r.failed(st({ state: 'failed' }), 'disk-full', 'no space left on device');
    const out = lines();
    expect(out.map((l) => l.event)).toEqual(['progress', 'progress', 'complete', 'seeding', 'seeding', 'failed']);
    expect(out[1]).toMatchObject({ contentId: 'dl-x', piecesVerified: 5, pieces: 10, progress: 0.5, rateInBps: 1_000_000, badPieces: 1, peers: 3 });
    expect(out[5]).toMatchObject({ kind: 'disk-full', message: 'no space left on device' });
  });
});
