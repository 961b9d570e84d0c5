// Download commands: `publish file`, `get`, `search`. Parsing and config only; the work is in
// run-download.ts. `get` and `publish file` run as their own short-lived peers: a fresh peer id,
// an ephemeral port and a private control socket unless told otherwise, so they never collide
// with the box's daemon or with each other.
import { Command } from 'commander';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { newPeerId } from '../platform/identity.js';
import { configOrExit, collect, withConfigOptions, type GlobalOptions } from './common.js';
import { runGet, runPublishFile, runSearch } from './run-download.js';

interface PeerFlags extends GlobalOptions {
  tracker?: string;
  listen?: string;
  advertise?: string;
  control?: string;
  stateDir?: string;
  id?: string;
}

function peerOptions(cmd: Command, trackerHelp?: string): Command {
  const c = withConfigOptions(cmd);
  return (trackerHelp ? c.option('--tracker <host:port>', trackerHelp) : c.requiredOption('--tracker <host:port>', 'tracker to join through'))
    .option('--listen <host:port>', 'peer protocol address (TCP)', '0.0.0.0:0')
    .option('--advertise <host>', 'address announced to other peers')
    .option('--control <path>', 'control API unix socket (default: a private one in the temp directory)')
    .option('--state-dir <dir>', 'persistent state directory')
    .option('--id <peerId>', 'fixed peer id (default: a fresh one per run)');
}

function peerConfig(o: PeerFlags, extra: Record<string, unknown> = {}) {
  return configOrExit(o, {
    tracker: o.tracker,
    listen: o.listen,
    advertise: o.advertise,
    control: o.control ?? join(tmpdir(), `superdist-${process.pid}.sock`),
    stateDir: o.stateDir,
    // No tracker given (get): a box on a main node's segment, finding the local tracker by LAN query.
    node: { id: o.id ?? `dl-${newPeerId()}`, ...(o.tracker ? {} : { role: 'local' }) },
    ...extra,
  });
}

export function publishFileCommand(): Command {
  return peerOptions(new Command('file').exitOverride())
    .description('publish a file: cut it into verified pieces, print its content id (last stdout line) and seed it')
    .requiredOption('--input <path>', 'the file to publish')
    .option('--title <text>', 'title listed by `superdist search` (default: the file name)')
    .option('--piece-bytes <n>', 'piece size: a power of two from 16384 to 2097152 (default: by file size, 64 KiB for files up to 256 MiB)')
    .action(async (o: PeerFlags & { input: string; title?: string; pieceBytes?: string }) => {
      const pieceBytes = o.pieceBytes === undefined ? undefined : Number(o.pieceBytes);
      const cfg = peerConfig(o, { download: { pieceBytes } });
      await runPublishFile(cfg, resolve(o.input), o.title ?? '');
    });
}

export function getCommand(): Command {
  return peerOptions(new Command('get'), 'tracker to join through (default: the local tracker of the segment, found by LAN query)')
    .description('download a content into PATH: verified pieces, resumable (PATH.part), then seed it')
    .argument('<contentId>', 'download content id (dl-…), as `superdist search` lists it')
    .requiredOption('-o, --output <path>', 'where the file goes (PATH.part and PATH.part.pieces while it downloads)')
    .option('--no-seed', 'exit once the file is complete instead of seeding it')
    .option('--json', 'JSON progress lines even on a terminal')
    .action(async (contentId: string, o: PeerFlags & { output: string; seed: boolean; json?: boolean }) => {
      const cfg = peerConfig(o);
      await runGet(cfg, contentId, resolve(o.output), { seed: o.seed, json: o.json === true || !process.stdout.isTTY });
    });
}

export function searchCommand(): Command {
  return new Command('search')
    .description('list contents whose title or id contains WORD (all when none), from the tracker and peers')
    .argument('[word]', 'search word (case-insensitive); empty lists everything', '')
    .option('--tracker <host:port>', 'tracker to ask')
    .option('--peer <host:port>', 'also ask this peer directly (repeatable)', collect, [])
    .option('--timeout <ms>', 'wait this long for each answer', '3000')
    .option('--json', 'machine-readable JSON')
    .action(async (word: string, o: { tracker?: string; peer: string[]; timeout: string; json?: boolean }) => {
      await runSearch(word, { tracker: o.tracker, peers: o.peer, timeoutMs: Number(o.timeout), json: o.json === true });
    });
}
