// Commands that talk to a running service over its control socket: status, peers.
import { Command } from 'commander';
import { controlCall } from '../control/control-client.js';
import type { Status } from '../control/status.js';
import { fail } from './common.js';
import { formatStatus } from './format-status.js';
import { DEFAULT_CONTROL_SOCKET } from '../config/schema.js';

const DEFAULT_CONTROL = process.env.SUPERDIST_CONTROL ?? DEFAULT_CONTROL_SOCKET;

async function call(control: string, method: string, params: Record<string, unknown> = {}): Promise<unknown> {
  try {
    return await controlCall(control, method, params);
  } catch (err) {
    return fail((err as Error).message);
  }
}

export function statusCommand(): Command {
  return new Command('status')
    .description('show the running service: role, contents and partners, members, memory')
    .option('--control <path>', 'control API unix socket', DEFAULT_CONTROL)
    .option('--json', 'machine-readable JSON')
    .action(async (o: { control: string; json?: boolean }) => {
      const s = (await call(o.control, 'status')) as Status;
      process.stdout.write(o.json ? `${JSON.stringify(s, null, 2)}\n` : `${formatStatus(s)}\n`);
    });
}

export function peersCommand(): Command {
  return new Command('peers')
    .description('list the peers this service is connected to')
    .option('--control <path>', 'control API unix socket', DEFAULT_CONTROL)
    .option('--json', 'machine-readable JSON')
    .action(async (o: { control: string; json?: boolean }) => {
      const r = (await call(o.control, 'peers')) as { peers: { peerId: string; contact: string }[] };
      if (o.json) process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
      else process.stdout.write(r.peers.map((p) => `${p.peerId}  ${p.contact}`).join('\n') + (r.peers.length ? '\n' : 'no peers\n'));
    });
}
