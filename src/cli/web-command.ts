// `superdist web set-password`: sets the web remote's owner password (a scrypt hash in the state
// directory; the running service picks it up at the next login, older owner sessions end).
import { existsSync } from 'node:fs';
import { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { passwordProblem, writeCredential, hashPassword } from '../web/owner-credential.js';
import { EXIT_USAGE, fail } from './common.js';

/** The appliance's configuration (systemd/superdist.service): its stateDir is the default. */
const APPLIANCE_CONFIG = '/etc/superdist/config.json';

/** Reads one line from a terminal without echoing it. */
function promptHidden(question: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const stdin = process.stdin;
    process.stderr.write(question);
    stdin.setRawMode(true);
    stdin.resume();
    stdin.setEncoding('utf8');
    let text = '';
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') {
          stdin.setRawMode(false);
          stdin.pause();
          stdin.off('data', onData);
          process.stderr.write('\n');
          return resolve(text);
        }
        if (ch === '\u0003') {
          stdin.setRawMode(false);
          return reject(new Error('cancelled'));
        }
        if (ch === '\u007f' || ch === '\b') text = text.slice(0, -1);
        else text += ch;
      }
    };
    stdin.on('data', onData);
  });
}

async function readStdin(): Promise<string> {
  const parts: Buffer[] = [];
  for await (const d of process.stdin) parts.push(d as Buffer);
  return Buffer.concat(parts).toString('utf8').replace(/\r?\n$/, '');
}

export function webCommand(): Command {
  const web = new Command('web').description('the web remote and dashboard (docs/web.md)');
  web.addCommand(
    new Command('set-password')
      .description('set the owner password of the web page (stored as a scrypt hash in the state directory)')
      .option('--state-dir <dir>', 'the service\'s state directory (default: the stateDir of --config, else of /etc/superdist/config.json, else /var/lib/superdist)')
      .option('--config <file>', 'the service\'s configuration file (its stateDir is used)')
      .option('--password-stdin', 'read the password from standard input instead of asking')
      .exitOverride()
      .action(async (o: { stateDir?: string; config?: string; passwordStdin?: boolean }) => {
        let stateDir = o.stateDir;
        if (!stateDir) {
          try {
            const file = o.config ?? process.env.SUPERDIST_CONFIG ?? (existsSync(APPLIANCE_CONFIG) ? APPLIANCE_CONFIG : undefined);
            stateDir = loadConfig({ ...(file ? { file } : {}), env: process.env }).stateDir;
          } catch (err) {
            fail((err as Error).message, EXIT_USAGE);
          }
        }
        let pw: string;
        if (o.passwordStdin || !process.stdin.isTTY) {
          pw = await readStdin();
        } else {
          pw = await promptHidden('new owner password: ');
          const again = await promptHidden('again: ');
          if (again !== pw) fail('the two passwords differ; nothing changed', EXIT_USAGE);
        }
        const problem = passwordProblem(pw);
        if (problem) fail(`${problem}; nothing changed`, EXIT_USAGE);
        try {
          const path = writeCredential(stateDir, await hashPassword(pw));
          process.stdout.write(`owner password set (${path}); owner sessions logged in with the old one have ended\n`);
        } catch (err) {
          const e = err as NodeJS.ErrnoException;
          fail(e.code === 'EACCES' ? `permission denied writing to ${stateDir} (run it as root or as the service's user)` : e.message);
        }
      }),
  );
  return web;
}
