// What every engine tunables object (engine, live, download config) must be first: numbers, finite
// and not negative. Each config's own rules (at least 1, one above another) come after.

/** One problem per field of `c` that is not a finite non-negative number, naming the field. */
export function numberFieldProblems(c: object): string[] {
  const problems: string[] = [];
  for (const [key, value] of Object.entries(c)) {
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      problems.push(`${key} must be a finite non-negative number (got ${String(value)})`);
    }
  }
  return problems;
}
