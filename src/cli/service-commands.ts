// `superdist tracker` and `superdist node`: the long-lived roles.
import { Command } from 'commander';
import { collect, configOrExit, withConfigOptions, type GlobalOptions } from './common.js';
import { runService } from './run-service.js';

interface ServiceFlags extends GlobalOptions {
  listen?: string;
  advertise?: string;
  control?: string;
  stateDir?: string;
  id?: string;
  name?: string;
  tracker?: string;
  join?: string[];
  role?: string;
  watch?: string;
  player?: string;
  record?: string;
  segment?: string;
  uplink?: string;
  web?: string;
  rightsIssuer?: string;
  registry?: string;
  peer?: boolean;
  udp?: boolean;
}

function sharedOptions(cmd: Command): Command {
  return withConfigOptions(cmd)
    .option('--listen <host:port>', 'peer protocol address (TCP)')
    .option('--advertise <host>', 'address announced to other peers')
    .option('--control <path>', 'control API unix socket')
    .option('--state-dir <dir>', 'persistent state directory')
    .option('--id <peerId>', 'fixed peer id (default: generated once, kept in the state directory)')
    .option('--name <name>', 'device name shown in status');
}

function flagsOf(o: ServiceFlags, role: string | undefined): Record<string, unknown> {
  return {
    listen: o.listen,
    advertise: o.advertise,
    control: o.control,
    stateDir: o.stateDir,
    tracker: o.tracker,
    join: o.join && o.join.length ? o.join : undefined,
    node: { id: o.id, name: o.name, role },
    watch: o.watch,
    record: o.record,
    player: o.player ? { kind: o.player } : undefined,
    segment: { address: o.segment, uplinkInterface: o.uplink },
    web: o.web ? { enabled: true, listen: [o.web] } : undefined,
    drm: { rightsIssuer: o.rightsIssuer },
    registry: o.registry,
    trackerPeer: o.peer === false ? false : undefined,
    trackerUdp: o.udp === false ? false : undefined,
  };
}

export function trackerCommand(): Command {
  return sharedOptions(new Command('tracker'))
    .description('run a tracker: registry of peers per content, redirects newcomers to deputies; itself a peer (in memory) or one of several front ends on Redis')
    .option('--registry <where>', 'memory (default), redis://HOST:PORT or redis-cluster://HOST:PORT,HOST:PORT,... (docs/tracker-scale.md)')
    .option('--no-peer', 'answer joins only: do not also be a peer of every content (always so on Redis)')
    .option('--no-udp', 'answer over TCP only: no datagram joins and announces on the listen port')
    .action(async (o: ServiceFlags) => {
      await runService(configOrExit(o, flagsOf(o, 'tracker')));
    });
}

export function nodeCommand(): Command {
  return sharedOptions(new Command('node'))
    .description('run a node: join contents through a tracker, keep partners, exchange chunks')
    .option('--tracker <host:port>', 'tracker to join through')
    .option('--join <contentId>', 'content to join at start (repeatable)', collect, [])
    .option('--role <role>', 'node | main | local (main: uplink + local tracker on the segment; local: finds the local tracker itself)')
    .option('--segment <addr>', 'main node: the local tracker\'s address on the segment, ADDR or ADDR:PORT (default: the segment interface\'s)')
    .option('--uplink <iface>', 'main node: the uplink interface (default: the default-route interface)')
    .option('--watch <channel>', 'channel to play at start (name or live id)')
    .option('--player <kind>', 'mpv (default) or none')
    .option('--record <file>', 'write exactly the bytes the player receives to FILE')
    .option('--web <host:port>', 'serve the web remote and dashboard on HOST:PORT (port 0: any free port; see status)')
    .option('--rights-issuer <url>', 'rights issuer (a main node relays to it as DRM proxy), http://HOST:PORT; see docs/drm.md')
    .action(async (o: ServiceFlags) => {
      const cfg = configOrExit(o, flagsOf(o, o.role));
      if (cfg.node.role === 'tracker') {
        process.stderr.write('superdist: node.role "tracker": use `superdist tracker` for the tracker role\n');
        process.exit(2);
      }
      await runService(cfg);
    });
}
