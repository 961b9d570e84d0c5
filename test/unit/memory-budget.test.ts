// The buffer budget for the boards the box runs on, with the RAM size taken from the config (the
// way a test or an operator overrides detection), and from real detection.
import { describe, expect, it } from 'vitest';
import { bufferBudgetForRam, MAX_BUFFER_BUDGET_BYTES, MIB, MIN_BUFFER_BUDGET_BYTES } from '../../src/config/memory-budget.js';
import { planMemory } from '../../src/platform/memory.js';

const GIB = 1024 * MIB;

describe('memory budget', () => {
  it.each([
    ['256 MB board (Pi 1, Zero)', 256 * MIB, 21_474_836], // 8 %
    ['512 MB board (Zero 2 W, Pi 3 A+)', 512 * MIB, 53_687_091], // 10 %
    ['1 GB board (Pi 3 B)', 1 * GIB, 128_849_018], // 12 %
    ['2 GB board', 2 * GIB, 322_122_547], // 15 %
    ['4 GB board (Pi 4)', 4 * GIB, MAX_BUFFER_BUDGET_BYTES], // 15 %, capped
    ['8 GB board', 8 * GIB, MAX_BUFFER_BUDGET_BYTES],
  ])('%s: memory.totalRamBytes %d gives a %d byte budget', async (_board, ram, budget) => {
    expect(await planMemory({ totalRamBytes: ram, budgetBytes: 0 })).toEqual({ totalRamBytes: ram, budgetBytes: budget, ramSource: 'config' });
  });

  it('classes the RAM the kernel reports (less than the board has: GPU memory, kernel) with its board', () => {
    // MemTotal as reported by boards with the GPU split and the kernel's reservations
    expect(bufferBudgetForRam(215 * MIB)).toBe(Math.floor(215 * MIB * 0.08));
    expect(bufferBudgetForRam(427 * MIB)).toBe(Math.floor(427 * MIB * 0.1));
    expect(bufferBudgetForRam(906 * MIB)).toBe(Math.floor(906 * MIB * 0.12));
    expect(bufferBudgetForRam(1848 * MIB)).toBe(Math.floor(1848 * MIB * 0.15));
    expect(bufferBudgetForRam(3796 * MIB)).toBe(MAX_BUFFER_BUDGET_BYTES);
  });

  it('never falls below the floor, never shrinks as RAM grows, never passes the cap', () => {
    expect(bufferBudgetForRam(32 * MIB)).toBe(MIN_BUFFER_BUDGET_BYTES);
    let last = 0;
    for (let ram = 16 * MIB; ram <= 16 * GIB; ram += 16 * MIB) {
      const b = bufferBudgetForRam(ram);
      expect(b).toBeGreaterThanOrEqual(last);
      expect(b).toBeLessThanOrEqual(MAX_BUFFER_BUDGET_BYTES);
      last = b;
    }
  });

  it('an explicit memory.budgetBytes wins over the share', async () => {
    expect(await planMemory({ totalRamBytes: 256 * MIB, budgetBytes: 64 * MIB })).toMatchObject({ budgetBytes: 64 * MIB });
  });

  it('detects the RAM with systeminformation when the config says 0', async () => {
    const plan = await planMemory({ totalRamBytes: 0, budgetBytes: 0 });
    expect(plan.ramSource).toBe('systeminformation');
    expect(plan.totalRamBytes).toBeGreaterThan(64 * MIB);
    expect(plan.budgetBytes).toBe(bufferBudgetForRam(plan.totalRamBytes));
  });
});
