// Lifecycles of the download commands. Logs go to stderr: stdout carries the content id
// (`publish file`), the progress (`get`) or the results (`search`).
// Exit codes: 0 done (or stopped while seeding); 1 runtime failure; 2 bad usage or an output path
// that holds something else; 3 unknown content id; 4 disk full (partial file and record kept).
import { existsSync, statSync } from 'node:fs';
import type { Config } from '../config/schema.js';
import { parseHostPort } from '../config/address.js';
import { DownloadFailedError, type DownloadNode } from '../download-node.js';
import { ProgressReporter } from '../download/progress-reporter.js';
import { partPaths } from '../download/part-store.js';
import { startService, type RunningService } from '../node.js';
import { queryContents } from '../net/contents-query.js';
import type { Contact, ContentInfo } from '../protocol/messages.js';
import { createLogger, type Logger } from '../platform/logger.js';
import { isDownloadId } from '../source/piece-verifier.js';
import { VERSION } from '../version.js';
import { EXIT_DISK_FULL, EXIT_FAILURE, EXIT_NOT_FOUND, EXIT_OK, EXIT_USAGE, fail } from './common.js';

const PROGRESS_EVERY_MS = 1000;

async function start(cfg: Config, log: Logger): Promise<RunningService & { downloads: DownloadNode }> {
  try {
    const svc = await startService(cfg, log, VERSION);
    if (!svc.downloads) throw new Error('this role has no download side');
    return svc as RunningService & { downloads: DownloadNode };
  } catch (err) {
    return fail(`cannot start: ${(err as Error).message}`);
  }
}

/** Stops the service on SIGTERM/SIGINT and exits with the code `codeNow()` gives then. */
function onSignals(svc: RunningService, cleanup: () => void, codeNow: () => number): void {
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    cleanup();
    svc.stop().then(
      () => process.exit(codeNow()),
      () => process.exit(EXIT_FAILURE),
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

export async function runPublishFile(cfg: Config, input: string, title: string): Promise<void> {
  let st;
  try {
    st = statSync(input);
  } catch (err) {
    return fail(`cannot publish ${input}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`, EXIT_USAGE);
  }
  if (!st.isFile()) return fail(`cannot publish ${input}: not a regular file`, EXIT_USAGE);
  const log = createLogger(cfg.logLevel, { role: 'publish' }, 2);
  const svc = await start(cfg, log);
  let published;
  try {
    published = svc.downloads.publishFile(input, title);
  } catch (err) {
    await svc.stop();
    return fail((err as Error).message, EXIT_USAGE);
  }
  const m = published.manifest;
  process.stdout.write(`published ${title || m.name}: ${m.sizeBytes} bytes in ${m.pieceCount} pieces of ${m.pieceBytes} bytes; seeding until stopped\n`);
  process.stdout.write(`${published.contentId}\n`);
  onSignals(svc, () => undefined, () => EXIT_OK);
}

/** The tracker's catalogue entry of the id, or exits (unknown id: 3; no tracker: 1). */
async function lookUp(tracker: Contact, trackerText: string, contentId: string): Promise<ContentInfo> {
  let list: ContentInfo[];
  try {
    list = await queryContents(tracker, contentId);
  } catch (err) {
    return fail(`cannot ask the tracker ${trackerText}: ${(err as Error).message}`);
  }
  const found = list.find((c) => c.contentId === contentId);
  if (!found) return fail(`unknown content id ${contentId}: the tracker ${trackerText} does not list it (superdist search --tracker ${trackerText} lists what it has)`, EXIT_NOT_FOUND);
  if (found.kind !== 'download') return fail(`${contentId} is a ${found.kind} content, not a download`, EXIT_USAGE);
  return found;
}

/** The local tracker a segment-only node found (HOST:PORT), or exits when none answers in time. */
async function localTracker(svc: RunningService, timeoutMs: number): Promise<string> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const found = svc.status().discovery?.tracker;
    if (found) return found;
    if (Date.now() >= until) return fail(`no local tracker answered on this box's segment within ${Math.round(timeoutMs / 1000)} s: give the tracker with --tracker HOST:PORT`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export async function runGet(cfg: Config, contentId: string, output: string, opts: { seed: boolean; json: boolean }): Promise<void> {
  if (!isDownloadId(contentId)) return fail(`${JSON.stringify(contentId)} is not a download content id (dl- and 64 hex digits; superdist search lists them)`, EXIT_USAGE);
  if (existsSync(output) && statSync(output).isDirectory()) return fail(`-o ${output} is a directory; give a file path`, EXIT_USAGE);
  const log = createLogger(cfg.logLevel, { role: 'get' }, 2);
  // Without --tracker (a box on a main node's segment) the node starts first and finds the local tracker.
  const early = cfg.tracker ? undefined : await start(cfg, log);
  const trackerText = early ? await localTracker(early, cfg.segment.discoveryRoundMs * 3) : cfg.tracker;
  const tracker = parseHostPort(trackerText);
  if (typeof tracker === 'string') return fail(`--tracker: ${tracker}`, EXIT_USAGE);
  const listed = await lookUp(tracker, trackerText, contentId);
  const svc = early ?? (await start(cfg, log));
  const reporter = new ProgressReporter(process.stdout, contentId, opts.json);
  const status = () => svc.downloads.contentStatus(contentId);
  const timer = setInterval(() => reporter.update(status()), PROGRESS_EVERY_MS);
  let complete = false;
  onSignals(svc, () => {
    clearInterval(timer);
    reporter.stop();
  }, () => (complete ? EXIT_OK : EXIT_FAILURE));
  try {
    await svc.downloads.get(contentId, output, listed.title === contentId ? '' : listed.title);
  } catch (err) {
    clearInterval(timer);
    const e = err instanceof DownloadFailedError ? err : new DownloadFailedError('io', (err as Error).message);
    const s = status();
    reporter.failed(s, e.kind, e.message);
    const p = partPaths(output);
    const todo = e.kind === 'disk-full' ? 'free some space and run the same command again to resume' : 'run the same command again to resume';
    const hint = s && s.pieces !== null && existsSync(p.record) ? `; ${s.piecesVerified} of ${s.pieces} pieces are verified and kept in ${p.part} (recorded in ${p.record}): ${todo}` : '';
    await svc.stop();
    return fail(`${e.message}${hint}`, e.kind === 'disk-full' ? EXIT_DISK_FULL : e.kind === 'conflict' ? EXIT_USAGE : EXIT_FAILURE);
  }
  complete = true;
  reporter.complete(status(), opts.seed);
  if (!opts.seed) {
    clearInterval(timer);
    await svc.stop();
    process.exit(EXIT_OK);
  }
  log.info({ contentId, path: output }, 'seeding until stopped');
}

export async function runSearch(word: string, o: { tracker?: string; peers: string[]; timeoutMs: number; json: boolean }): Promise<void> {
  const targets: string[] = [...(o.tracker ? [o.tracker] : []), ...o.peers];
  if (targets.length === 0) return fail('search needs --tracker HOST:PORT (and/or --peer HOST:PORT)', EXIT_USAGE);
  if (!Number.isFinite(o.timeoutMs) || o.timeoutMs <= 0) return fail('--timeout must be a positive number of milliseconds', EXIT_USAGE);
  const found = new Map<string, ContentInfo & { from: string[] }>();
  for (const text of targets) {
    const contact = parseHostPort(text);
    if (typeof contact === 'string') return fail(`${text}: ${contact}`, EXIT_USAGE);
    let list: ContentInfo[];
    try {
      list = await queryContents(contact, word, o.timeoutMs);
    } catch (err) {
      if (text === o.tracker) return fail(`cannot ask the tracker ${text}: ${(err as Error).message}`);
      process.stderr.write(`superdist: peer ${text} did not answer: ${(err as Error).message}\n`);
      continue;
    }
    for (const c of list) {
      const prev = found.get(c.contentId);
      if (prev) {
        prev.from.push(text);
        if (prev.sizeBytes === 0) prev.sizeBytes = c.sizeBytes;
        if (prev.title === prev.contentId) prev.title = c.title;
      } else found.set(c.contentId, { ...c, from: [text] });
    }
  }
  const rows = [...found.values()].sort((a, b) => a.title.localeCompare(b.title));
  if (o.json) {
    process.stdout.write(`${JSON.stringify({ word, contents: rows }, null, 2)}\n`);
    return;
  }
  if (rows.length === 0) {
    process.stdout.write(word ? `no contents match ${JSON.stringify(word)}\n` : 'no contents\n');
    return;
  }
  const cells = rows.map((r) => [r.title, r.kind, r.kind === 'download' ? String(r.sizeBytes) : '-', r.contentId]);
  const head = ['title', 'kind', 'bytes', 'content id'];
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] as string).length)));
  const line = (c: string[]) => c.map((v, i) => (i === 2 ? v.padStart(widths[i] as number) : v.padEnd(widths[i] as number))).join('  ').trimEnd();
  process.stdout.write(`${[line(head), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n')}\n`);
}
