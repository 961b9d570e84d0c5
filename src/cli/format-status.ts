// Human-readable rendering of the status model for `superdist status` without --json.
import type { Status } from '../control/status.js';

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
  out.push('');
  if (s.contents.length === 0) out.push('no active contents');
  else out.push(table(['content', 'kind', 'partners'], s.contents.map((c) => [c.id, c.kind, String(c.partners)])));
  if (s.tracker) {
    out.push('');
    out.push(`tracker: ${s.tracker.redirects} redirects`);
    out.push(table(['content', 'kind', 'members'], s.tracker.contents.map((c) => [c.id, c.kind, String(c.members)])));
  }
  return out.join('\n');
}
