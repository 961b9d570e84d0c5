// Live-channel commands: publishing a channel, and switching what a running box plays.
import { Command } from 'commander';
import { controlCall } from '../control/control-client.js';
import { configOrExit, fail, withConfigOptions, type GlobalOptions } from './common.js';
import { runService } from './run-service.js';
import { DEFAULT_CONTROL_SOCKET } from '../config/schema.js';

const DEFAULT_CONTROL = process.env.SUPERDIST_CONTROL ?? DEFAULT_CONTROL_SOCKET;

interface PublishFlags extends GlobalOptions {
  tracker?: string;
  channel?: string;
  input?: string;
  loop?: boolean;
  chunkMs?: string;
  listen?: string;
  advertise?: string;
  control?: string;
  stateDir?: string;
  id?: string;
  protect?: boolean;
  rightsIssuer?: string;
  preview?: string;
  previewEvery?: string;
  count?: string;
  interval?: string;
  notAfter?: string;
}

const num = (v: string | undefined): number | undefined => (v === undefined ? undefined : Number(v));

export function publishCommand(): Command {
  const publish = new Command('publish').description('publish content into the swarm');
  publish.addCommand(
    withConfigOptions(new Command('live').exitOverride())
      .description('publish a live MPEG-TS channel: time-fixed signed chunks, served as a peer')
      .requiredOption('--channel <name>', 'channel name (its key is kept in the state directory, so its id is stable)')
      .requiredOption('--input <file|-|udp://host:port>', 'MPEG-TS input: a file (paced at real time from its PCR), - for stdin, or UDP')
      .option('--tracker <host:port>', 'tracker to announce the channel to')
      .option('--loop', 'loop a file input forever')
      .option('--chunk-ms <ms>', 'media time per chunk')
      .option('--listen <host:port>', 'peer protocol address (TCP)')
      .option('--advertise <host>', 'address announced to other peers')
      .option('--control <path>', 'control API unix socket')
      .option('--state-dir <dir>', 'persistent state directory')
      .option('--id <peerId>', 'fixed peer id')
      .option('--protect', 'encrypt the channel (AES-128-CTR per chunk); its key is registered with --rights-issuer')
      .option('--rights-issuer <url>', 'rights issuer, http://HOST:PORT (with --protect)')
      .option('--preview <seconds>', 'with --protect: seconds left clear at the start of every --preview-every period')
      .option('--preview-every <seconds>', 'with --protect: preview period (default 300)')
      .option('--count <n>', 'with --protect: plays each rights object allows')
      .option('--interval <seconds>', 'with --protect: validity from the first play')
      .option('--not-after <iso>', 'with --protect: not playable after')
      .action(async (o: PublishFlags) => {
        const chunkMs = o.chunkMs === undefined ? undefined : Number(o.chunkMs);
        const cfg = configOrExit(o, {
          tracker: o.tracker,
          listen: o.listen,
          advertise: o.advertise,
          control: o.control,
          stateDir: o.stateDir,
          node: { id: o.id },
          live: { chunkMs },
          source: { channel: o.channel, input: o.input, loop: o.loop ? true : undefined },
          drm: {
            protect: o.protect ? true : undefined,
            rightsIssuer: o.rightsIssuer,
            previewS: num(o.preview),
            previewEveryS: num(o.previewEvery),
            count: num(o.count),
            intervalS: num(o.interval),
            notAfter: o.notAfter,
          },
        });
        await runService(cfg);
      }),
  );
  return publish;
}

async function call(control: string, method: string, params: Record<string, unknown> = {}): Promise<unknown> {
  try {
    return await controlCall(control, method, params, 15_000);
  } catch (err) {
    return fail((err as Error).message);
  }
}

export function playCommand(): Command {
  return new Command('play')
    .description('switch the TV of a running box to a channel (name or live id) or a download (dl-…: fetched if needed, played while it downloads)')
    .argument('<channel>', 'channel name as the tracker lists it, its live id, or a download id dl-…')
    .option('--control <path>', 'control API unix socket', DEFAULT_CONTROL)
    .action(async (channel: string, o: { control: string }) => {
      const r = (await call(o.control, 'play', { channel })) as { playing: { contentId: string; name: string } };
      process.stdout.write(`playing ${r.playing.name} (${r.playing.contentId})\n`);
    });
}

export function stopCommand(): Command {
  return new Command('stop')
    .description('stop what the TV of a running box shows')
    .option('--control <path>', 'control API unix socket', DEFAULT_CONTROL)
    .action(async (o: { control: string }) => {
      const r = (await call(o.control, 'stop')) as { stopped: string | null };
      process.stdout.write(r.stopped ? `stopped ${r.stopped}\n` : 'nothing was playing\n');
    });
}
