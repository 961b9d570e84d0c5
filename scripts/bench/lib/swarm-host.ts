// Hosts several superdist nodes in one process, each with its own real TCP sockets, control socket
// and state dir (the "in-process mode with real sockets" the live-swarm benchmark uses for large N).
//   tsx scripts/bench/lib/swarm-host.ts DIR PREFIX COUNT TRACKER CHANNEL
import { join } from 'node:path';
import { loadConfig } from '../../../src/config/load.js';
import { startService, type RunningService } from '../../../src/node.js';
import { createLogger } from '../../../src/platform/logger.js';

const [dir, prefix, countText, tracker, channel] = process.argv.slice(2) as [string, string, string, string, string];
const count = Number(countText);
const log = createLogger('error');
const services: RunningService[] = [];

for (let i = 0; i < count; i++) {
  const name = `${prefix}${i}`;
  const cfg = loadConfig({
    flags: {
      listen: '127.0.0.1:0',
      tracker,
      control: join(dir, `${name}.sock`),
      stateDir: join(dir, name),
      watch: channel,
      player: { kind: 'none' },
      logLevel: 'error',
    },
  });
  services.push(await startService(cfg, log.child({ node: name }), 'bench'));
  await new Promise((r) => setTimeout(r, 50));
}
process.stdout.write('ready\n');
const stop = async () => {
  await Promise.all(services.map((s) => s.stop().catch(() => undefined)));
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
