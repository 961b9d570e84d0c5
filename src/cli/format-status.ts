// Human-readable rendering of the status model for `superdist status` without --json.
import type { Status } from '../control/status.js';
import { formatImsStatusLine } from '../ims/ims-service.js';

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

export function formatStatus(s: Status): string {
  const out: string[] = [];
  out.push(`superdist ${s.node.version}  ${s.node.role}  id ${s.node.id}${s.node.name ? `  (${s.node.name})` : ''}`);
  out.push(`listening ${s.node.contact}  tracker ${s.node.tracker || '-'}  up ${s.node.uptimeS}s  members ${s.members}`);
  out.push(`memory: rss ${mib(s.memory.rssBytes)}, buffers ${mib(s.memory.bufferBytes)} of ${mib(s.memory.budgetBytes)} budget (RAM ${mib(s.memory.totalRamBytes)})`);
  if (s.ims) out.push(formatImsStatusLine(s.ims));
  if (s.net.reachability) {
    const m = s.net.portMapping;
    const mapping = !m || m.state === 'off' ? 'port mapping off' : m.state === 'mapped' ? `port mapped by ${m.method ?? '?'} to ${m.external ?? '?'}` : m.state === 'failed' ? `no port mapping (${m.error ?? '?'})` : 'asking the router for a port mapping';
    const punch = s.net.punchAttempts ? `; punches ${s.net.punchSucceeded ?? 0}/${s.net.punchAttempts} connected` : '';
    out.push(`reachability: ${s.net.reachability}${s.net.publicContact ? ` at ${s.net.publicContact}` : ''}  (tracker sees ${s.net.observed ?? '-'}; ${mapping}${punch})`);
  }
  if (s.uplink) {
    const shares = s.uplink.shares.map((x) => x.share).join(', ') || '-';
    out.push(`uplink ${s.uplink.interface || '?'} ${s.uplink.address} ${s.uplink.up ? 'up' : `DOWN (${s.uplink.why ?? '?'})`}: in ${mib(s.uplink.bytesIn)}, share ${shares}`);
  }
  if (s.segment) {
    const g = s.segment;
    const who = g.tracker === 'leader' ? 'local tracker' : g.tracker === 'follower' ? `following ${g.leader?.contact ?? '?'}` : 'electing';
    out.push(`segment ${g.interface || '?'} ${g.address}: ${who}, ${g.mains.length} main node(s), relaying ${g.relays.length}, beacon ${g.beacon.state}`);
  }
  if (s.discovery) out.push(`local tracker: ${s.discovery.tracker ?? (s.discovery.searching ? 'searching...' : 'none')}  (beacon ${s.discovery.beacon.state})`);
  if (s.web) {
    const owner = s.web.ownerPasswordSet ? 'owner password set' : 'NO owner password yet (superdist web set-password, or the setup code in the journal)';
    out.push(`web: ${s.web.urls.join(' ') || 'not served'}${s.web.errors.length ? ` (failed: ${s.web.errors.join('; ')})` : ''}  ${owner}`);
    const t = s.web.https;
    if (t) out.push(`web certificate: SHA-256 ${t.fingerprint}  (${t.selfSigned ? 'self-signed' : 'signed'}, until ${t.notAfter.slice(0, 10)}; plain HTTP: ${t.plainHttp})${t.warnings.length ? `  replaced: ${t.warnings.join('; ')}` : ''}`);
  }
  if (s.tv && s.tv.screen !== 'off') {
    const w = s.contents.find((c) => c.watching)?.watching;
    out.push(s.tv.screen === 'playing' ? `tv: playing ${s.vod?.name ?? w?.name ?? '?'}` : `tv: idle screen${s.tv.idle ? (s.tv.idle.shown ? ` (${s.tv.idle.lines[3] ?? ''})` : ' (not drawn)') : ' off'}`);
  }
  if (s.vod) {
    const v = s.vod;
    const msOr = (x: number | null) => (x === null ? '-' : `${x} ms`);
    const got = v.download ? `, ${Math.floor(v.download.progress * 100)} % downloaded` : '';
    out.push(`on demand: ${v.state}${v.waitingForPiece !== null ? ` (waiting for piece ${v.waitingForPiece})` : ''}${got}; startup ${msOr(v.firstByteMs)} to the first byte, ${msOr(v.firstFrameMs)} to the first frame; stalls ${v.stalls} (${(v.stallMs / 1000).toFixed(1)} s)${v.bufferedMs !== null && v.bufferedMs !== undefined ? `; ${(v.bufferedMs / 1000).toFixed(1)} s buffered` : ''}${v.seeks ? `; ${v.seeks} seek${v.seeks === 1 ? '' : 's'} (waited ${(v.seekWaitMs / 1000).toFixed(1)} s)` : ''}${v.rights ? `; rights ${v.rights.state}` : ''}`);
  }
  out.push('');
  const others = s.contents.filter((c) => !c.download);
  if (s.contents.length === 0) out.push('no active contents');
  else if (others.length > 0) {
    // null: not yet playing (no chunk was due), shown as "–", never as a perfect score.
    const pct = (v: number | null | undefined) => (v === null || v === undefined ? '–' : v.toFixed(3));
    const ms = (v: number | null | undefined) => (v === null || v === undefined ? '-' : `${Math.round(v)} ms`);
    const short = (id: string) => (id.length > 24 ? `${id.slice(0, 21)}...` : id);
    out.push(
      table(
        ['content', 'name', 'kind', 'role', 'partners', 'continuity', 'lag', 'in', 'out'],
        others.map((c) => [
          short(c.id),
          c.source?.channel ?? c.watching?.name ?? '',
          c.kind,
          c.role ?? '',
          String(c.partners),
          pct(c.continuityIndex),
          ms(c.lagMs),
          c.bytesIn === undefined ? '-' : mib(c.bytesIn),
          c.bytesOut === undefined ? '-' : mib(c.bytesOut),
        ]),
      ),
    );
  }
  const downloads = s.contents.filter((c) => c.download);
  if (downloads.length > 0) {
    if (others.length > 0) out.push('');
    out.push('downloads:');
    out.push(
      table(
        ['content', 'title', 'state', 'progress', 'pieces', 'in', 'out', 'bad', 'peers'],
        downloads.map((c) => {
          const d = c.download!;
          return [
            c.id.length > 24 ? `${c.id.slice(0, 21)}...` : c.id,
            d.title,
            d.state,
            `${(100 * d.progress).toFixed(1)}%`,
            d.pieces === null ? '-' : `${d.piecesVerified}/${d.pieces}`,
            mib(d.pieceBytesIn),
            mib(d.pieceBytesOut),
            String(d.badPieces),
            String(d.partners),
          ];
        }),
      ),
    );
  }
  if (s.tracker) {
    out.push('');
    const t = s.tracker;
    const reg = t.registry ? `${t.registry.backend}${t.registry.reachable ? '' : ` UNREACHABLE (${t.registry.lastError ?? '?'})`}` : 'memory';
    out.push(`tracker: registry ${reg}  peers ${t.registeredPeers}  joins/s ${t.joinsPerSec ?? 0}  joins ${t.joins}  redirects ${t.redirects}  refused ${t.refusedJoins}`);
    if (t.manifests) out.push(`tracker manifests: ${t.manifests.manifests} kept (${Math.round(t.manifests.bytes / 1024)} KiB)  served ${t.manifests.served}  rejected ${t.manifests.rejected}`);
    if (t.udp) out.push(`tracker UDP: connects ${t.udp.connects}  announces ${t.udp.announces}  answers ${t.udp.answers}  spoofed ${t.udp.spoofed}  malformed ${t.udp.malformed}`);
    if ((t.contentCount ?? t.contents.length) > t.contents.length) out.push(`(the ${t.contents.length} largest of ${t.contentCount} contents)`);
    out.push(table(['content', 'kind', 'members'], s.tracker.contents.map((c) => [c.id, c.kind, String(c.members)])));
  }
  return out.join('\n');
}
