// Shared output helpers for benchmarks: a console table, result files under bench-results/, and a
// description of the machine the figures come from (figures mean nothing without it).
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** bench-results/ at the repository root, whatever the working directory. */
export const RESULTS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../bench-results');

export interface MachineInfo {
  node: string;
  platform: string;
  arch: string;
  cpuModel: string;
  cpuCount: number;
  totalMemBytes: number;
  /** ISO 8601 time the result was produced. */
  date: string;
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    node: process.version,
    platform: os.platform(),
    arch: os.arch(),
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cpuCount: cpus.length,
    totalMemBytes: os.totalmem(),
    date: new Date().toISOString(),
  };
}

/** Prints rows as an aligned text table; numbers are right-aligned, columns come from all rows. */
export function printTable(rows: Record<string, string | number>[]): void {
  const cols: string[] = [];
  for (const r of rows) for (const k of Object.keys(r)) if (!cols.includes(k)) cols.push(k);
  const cell = (v: string | number | undefined): string => (v === undefined ? '' : String(v));
  const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (vals: (string | number | undefined)[], header = false): string =>
    vals
      .map((v, i) => (typeof v === 'number' && !header ? cell(v).padStart(widths[i]!) : cell(v).padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  console.log(line(cols, true));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(line(cols.map((c) => r[c])));
}

function writeArtifact(file: string, content: string): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const target = path.join(RESULTS_DIR, file);
  writeFileSync(target, content);
  return target;
}

/** Writes `data` as pretty JSON to bench-results/NAME.json and returns the path. */
export function writeResult(name: string, data: unknown): string {
  return writeArtifact(`${name}.json`, `${JSON.stringify(data, null, 2)}\n`);
}

/** Writes an SVG (from lib/plot.ts) to bench-results/NAME.svg and returns the path. */
export function writePlot(name: string, svg: string): string {
  return writeArtifact(`${name}.svg`, svg);
}
