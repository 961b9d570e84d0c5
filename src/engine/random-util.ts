// Small helpers over the injected Random port (never Math.random), so runs are reproducible.
import type { Random } from './ports.js';

/** Integer in [0, n). */
export function randomInt(random: Random, n: number): number {
  const i = Math.floor(random.next() * n);
  return i >= n ? n - 1 : i;
}

/** Shuffles `items` in place (Fisher–Yates) and returns it. */
export function shuffleInPlace<T>(random: Random, items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = randomInt(random, i + 1);
    const tmp = items[i] as T;
    items[i] = items[j] as T;
    items[j] = tmp;
  }
  return items;
}

/** Up to `k` distinct random elements of `items` (which is left untouched). */
export function sample<T>(random: Random, items: readonly T[], k: number): T[] {
  if (k <= 0 || items.length === 0) return [];
  if (k >= items.length) return shuffleInPlace(random, items.slice());
  // Partial Fisher–Yates on a copy: k swaps.
  const copy = items.slice();
  for (let i = 0; i < k; i++) {
    const j = i + randomInt(random, copy.length - i);
    const tmp = copy[i] as T;
    copy[i] = copy[j] as T;
    copy[j] = tmp;
  }
  copy.length = k;
  return copy;
}

/**
 * Sorts by ascending key with a random tie-break (each element gets a random secondary key once).
 * Returns a new array.
 */
export function sortByWithRandomTies<T>(random: Random, items: readonly T[], key: (item: T) => number): T[] {
  const keyed = items.map((item) => ({ item, k: key(item), r: random.next() }));
  keyed.sort((a, b) => a.k - b.k || a.r - b.r);
  return keyed.map((e) => e.item);
}
