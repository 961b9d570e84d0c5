// A central tracker serves more viewers than a box keeps connections: 80 nodes (in this process,
// each with its own TCP sockets and control socket) join one channel through a tracker process.
// With the box limit of 64 connections on the tracker, the 64th node was turned away before it
// learnt any member and never joined; every node must now know members and the tracker list all.
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { startService, type RunningService } from '../../src/node.js';
import { createLogger } from '../../src/platform/logger.js';
import { controlCall } from '../../src/control/control-client.js';
import type { Status } from '../../src/control/status.js';
import { killAll, startProc, tempDir, waitFor, waitUp, type Proc } from '../support/processes.js';

const NODES = 80;
const CONTENT = 'channel-many';
const procs: Proc[] = [];
const services: RunningService[] = [];
afterAll(async () => {
  await Promise.all(services.map((s) => s.stop().catch(() => undefined)));
  await killAll(procs);
});

describe('a central tracker with more peers than a box keeps', () => {
  it(`admits ${NODES} nodes: each learns members, the tracker lists all of them`, async () => {
    const dir = tempDir('sd-many-');
    const tracker = startProc('tracker', dir, ['tracker', '--listen', '127.0.0.1:0', '--log-level', 'warn']);
    procs.push(tracker);
    const addr = (await waitUp(tracker, 10_000, 'tracker status')).node.contact;
    const log = createLogger('error');
    for (let i = 0; i < NODES; i++) {
      const cfg = loadConfig({
        flags: { listen: '127.0.0.1:0', tracker: addr, control: join(dir, `m${i}.sock`), stateDir: join(dir, `m${i}`), join: [CONTENT], logLevel: 'error' },
      });
      services.push(await startService(cfg, log, 'test'));
    }
    const lonely = async (): Promise<number> => {
      let n = 0;
      for (let i = 0; i < NODES; i++) {
        const s = (await controlCall(join(dir, `m${i}.sock`), 'status')) as Status;
        if (s.members === 0 || s.contents.length === 0) n++;
      }
      return n;
    };
    await waitFor('every node to know members', 30_000, async () => (await lonely()) === 0);
    const t = (await controlCall(tracker.control, 'status')) as Status & { tracker?: { contents: Array<{ id: string; members: number }> } };
    const listed = t.tracker?.contents.find((c) => c.id === CONTENT)?.members ?? 0;
    console.log(`tracker lists ${listed} members of ${CONTENT}; nodes without members: ${await lonely()}`);
    expect(listed).toBeGreaterThanOrEqual(NODES);
  }, 120_000);
});
