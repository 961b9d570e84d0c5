// A vitest reporter for scripts/test: writes one JSON file per run with every test's outcome and how
// many times it was retried, so the closing line can count a pass on retry apart from a plain pass
// and name each retried test. Its output file comes from SD_TEST_OUTCOME_FILE, which the reporter
// takes out of the environment so the test workers and the services they start never see it (the
// service refuses unknown SUPERDIST_* variables; this one is not of that family either way).
import { writeFileSync } from 'node:fs';
import { relative } from 'node:path';
import type { Reporter, TestCase, TestModule } from 'vitest/node';

export interface TestOutcome {
  file: string;
  name: string;
  state: 'passed' | 'failed' | 'skipped' | 'pending';
  retries: number;
}

export interface RunOutcome {
  tests: TestOutcome[];
  /** Files that failed outside any test (import error, failing hook, unhandled error). */
  brokenFiles: string[];
  unhandledErrors: number;
}

export default class OutcomeReporter implements Reporter {
  private readonly tests: TestOutcome[] = [];
  private readonly file = process.env.SD_TEST_OUTCOME_FILE;

  constructor() {
    delete process.env.SD_TEST_OUTCOME_FILE;
  }

  onTestCaseResult(testCase: TestCase): void {
    const state = testCase.result().state;
    this.tests.push({
      file: relative(process.cwd(), testCase.module.moduleId),
      name: testCase.fullName,
      state,
      retries: testCase.diagnostic()?.retryCount ?? 0,
    });
  }

  onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<unknown>): void {
    const file = this.file;
    if (!file) return;
    const brokenFiles = testModules
      .filter((m) => m.state() === 'failed' && !this.tests.some((t) => t.file === relative(process.cwd(), m.moduleId) && t.state === 'failed'))
      .map((m) => relative(process.cwd(), m.moduleId));
    const out: RunOutcome = { tests: this.tests, brokenFiles, unhandledErrors: unhandledErrors.length };
    writeFileSync(file, JSON.stringify(out, null, 1));
  }
}
