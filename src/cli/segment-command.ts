// `superdist segment-config`: renders the local segment's configuration files (bridge pan0 and its
// DHCP, hostapd, IBSS, nftables) from /etc/superdist/segment.conf; used by scripts/segment/segment-up.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { parseSegmentEnv, renderSegmentFiles, SegmentSetupError } from '../platform/segment-configs.js';
import { EXIT_USAGE, fail } from './common.js';

export function segmentConfigCommand(): Command {
  return new Command('segment-config')
    .description('render the local segment configuration (bridge + DHCP, hostapd, IBSS, nftables) from a KEY=VALUE file')
    .option('--env <file>', 'settings file', '/etc/superdist/segment.conf')
    .option('--out <dir>', 'write the files into DIR (default: print them)')
    .action((o: { env: string; out?: string }) => {
      let text: string;
      try {
        text = readFileSync(o.env, 'utf8');
      } catch (err) {
        fail(`cannot read ${o.env}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, EXIT_USAGE);
      }
      let files: Record<string, string>;
      try {
        files = renderSegmentFiles(parseSegmentEnv(text));
      } catch (err) {
        if (err instanceof SegmentSetupError) fail(`${o.env}: ${err.message}`, EXIT_USAGE);
        throw err;
      }
      if (!o.out) {
        for (const [name, body] of Object.entries(files)) process.stdout.write(`# ---- ${name}\n${body}`);
        return;
      }
      mkdirSync(o.out, { recursive: true, mode: 0o755 });
      for (const [name, body] of Object.entries(files)) {
        writeFileSync(join(o.out, name), body, { mode: name.startsWith('hostapd') || name.startsWith('wpa_') ? 0o600 : 0o644 });
        process.stdout.write(`${join(o.out, name)}\n`);
      }
    });
}
