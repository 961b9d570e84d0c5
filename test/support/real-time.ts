// The one retry policy of the integration suite. A scenario whose assertions measure real time on this
// shared 2-core machine — continuity against playback deadlines, playback speed, a deadline for a swarm
// to form or a main node to take over — may be run once more when it fails: a pass on retry is named
// and counted by scripts/test's closing line ("R passed on retry"), never silently folded into the passes.
// Every other test (wire, files, rights, CLI, web) runs once: a failure is a failure.
// Usage: it('keeps continuity >= 0.99', realTime(120_000), async () => { ... })
export function realTime(timeoutMs: number): { retry: number; timeout: number } {
  return { retry: 1, timeout: timeoutMs };
}
