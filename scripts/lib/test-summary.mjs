// Reads the outcome files written by test/support/outcome-reporter.ts (one per vitest run) and prints
// every test that passed only on retry or failed, then the closing line:
//   vitest: N passed, F failed, R passed on retry[, S skipped]
// where N counts every passing test (the R retried ones included). Exits 1 when a file holds no test
// at all or a test file broke outside its tests, so a run that tested nothing cannot look green.
// Usage: node scripts/lib/test-summary.mjs OUTCOME.json...
import { readFileSync } from 'node:fs';

let passed = 0, failed = 0, skipped = 0;
const retried = [], failures = [], broken = [];
let unhandled = 0;
for (const file of process.argv.slice(2)) {
  let run;
  try {
    run = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    broken.push(`${file}: no outcome written (${e.code ?? e.message}): the test runner did not finish`);
    continue;
  }
  for (const t of run.tests) {
    if (t.state === 'passed') {
      passed++;
      if (t.retries > 0) retried.push(`${t.file} > ${t.name} (passed after ${t.retries} ${t.retries === 1 ? 'retry' : 'retries'})`);
    } else if (t.state === 'failed') {
      failed++;
      failures.push(`${t.file} > ${t.name}${t.retries > 0 ? ` (failed ${t.retries + 1} times)` : ''}`);
    } else skipped++;
  }
  broken.push(...run.brokenFiles.map((f) => `${f}: failed outside its tests (import or hook error)`));
  unhandled += run.unhandledErrors;
}
if (retried.length) console.log(`passed on retry (they measure real time on a shared machine):\n  ${retried.join('\n  ')}`);
if (failures.length) console.log(`failed:\n  ${failures.join('\n  ')}`);
if (broken.length) console.log(`broken:\n  ${broken.join('\n  ')}`);
if (unhandled) console.log(`unhandled errors: ${unhandled}`);
failed += broken.length + unhandled;
console.log(`vitest: ${passed} passed, ${failed} failed, ${retried.length} passed on retry` + (skipped ? `, ${skipped} skipped` : ''));
process.exit(failed > 0 || passed === 0 ? 1 : 0);
