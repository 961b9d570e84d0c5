// Detects the board's RAM (systeminformation, falling back to os.totalmem) and derives the buffer
// budget, unless the configuration overrides either.
import { totalmem } from 'node:os';
import { memoryProbe } from './sysinfo.js';
import { bufferBudgetForRam } from '../config/memory-budget.js';

export interface MemoryPlan {
  totalRamBytes: number;
  budgetBytes: number;
  /** Where totalRamBytes came from. */
  ramSource: 'config' | 'systeminformation' | 'os';
}

export async function detectTotalRam(): Promise<{ bytes: number; source: 'systeminformation' | 'os' }> {
  try {
    const mem = await memoryProbe().mem();
    if (Number.isFinite(mem.total) && mem.total > 0) return { bytes: mem.total, source: 'systeminformation' };
  } catch {
    // fall through to os.totalmem()
  }
  return { bytes: totalmem(), source: 'os' };
}

export async function planMemory(cfg: { totalRamBytes: number; budgetBytes: number }): Promise<MemoryPlan> {
  const ram = cfg.totalRamBytes > 0 ? { bytes: cfg.totalRamBytes, source: 'config' as const } : await detectTotalRam();
  const budgetBytes = cfg.budgetBytes > 0 ? cfg.budgetBytes : bufferBudgetForRam(ram.bytes);
  return { totalRamBytes: ram.bytes, budgetBytes, ramSource: ram.source };
}
