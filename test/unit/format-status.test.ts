import { describe, expect, it } from 'vitest';
import type { Status } from '../../src/control/status.js';
import { formatStatus } from '../../src/cli/format-status.js';
import { C, liveNode } from '../helpers/live-fakes.js';

/** A status around one live content's real stats, as `superdist status` would print it. */
function statusWith(stats: Record<string, unknown>): Status {
  return {
    node: { id: 'n1', role: 'node', name: 'tv', version: 't', contact: '127.0.0.1:1', tracker: '', uptimeS: 5 },
    contents: [{ id: C, kind: 'live', partners: 2, partnerIds: ['a', 'b'], ...stats }],
    members: 3,
    memory: { totalRamBytes: 1 << 30, budgetBytes: 1 << 26, bufferBytes: 0, rssBytes: 1 << 25 },
    net: {},
    engine: {},
  } as Status;
}

const continuityCell = (text: string): string => {
  const lines = text.split('\n');
  const header = lines.findIndex((l) => l.startsWith('content'));
  const col = lines[header]!.indexOf('continuity');
  return lines[header + 2]!.slice(col).split(/\s+/)[0]!;
};

describe('superdist status text: continuity', () => {
  it('shows "–" (not yet playing) for a viewer that joined but has had no chunk due', () => {
    const n = liveNode({ config: { chunkMs: 1000, prebufferMs: 3000 } });
    n.partner('a');
    n.partner('b');
    n.advertise('a', [0, 1, 2, 3, 4, 5]);
    n.advertise('b', [0, 1, 2, 3, 4, 5]);
    for (let i = 0; i < 50; i++) n.tick(100); // 5 s: requests sent, nothing ever answered
    const stats = n.live.stats(C)!;
    expect(stats.chunksDue).toBe(0);
    expect(stats.continuityIndex).toBeNull();
    const text = formatStatus(statusWith({ ...stats }));
    expect(continuityCell(text)).toBe('–');
    expect(text).not.toMatch(/1\.000/);
  });

  it('shows the ratio once chunks were due', () => {
    const text = formatStatus(statusWith({ role: 'viewer', continuityIndex: 0.75, chunksDue: 4, chunksOnTime: 3 }));
    expect(continuityCell(text)).toBe('0.750');
  });
});
