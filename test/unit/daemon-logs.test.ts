// `superdist logs` is journalctl for the daemon's unit.
import { describe, expect, it } from 'vitest';
import { journalctlArgs, runJournalctl, SERVICE_UNIT } from '../../src/platform/journal.js';

describe('superdist logs', () => {
  it('asks journalctl for the unit, with follow, since and raw JSON lines', () => {
    expect(journalctlArgs({ unit: SERVICE_UNIT, follow: false, lines: 100, json: false })).toEqual([
      '--unit', 'superdist.service', '--lines', '100', '--no-pager',
    ]);
    expect(journalctlArgs({ unit: SERVICE_UNIT, follow: true, lines: 5, since: '1 hour ago', json: true })).toEqual([
      '--unit', 'superdist.service', '--lines', '5', '--no-pager', '--follow', '--since', '1 hour ago', '--output', 'cat',
    ]);
  });

  it('says so when the machine has no journal', async () => {
    await expect(runJournalctl([], 'journalctl-not-here')).rejects.toThrow(/journalctl-not-here not found: this machine has no systemd journal/);
  });
});
