// Network namespaces for process-level tests (root only): a lab with a unique name prefix
// (`sdseg<pid>-`) so parallel runs never meet, veth pairs created straight into their namespaces
// (nothing touches the root namespace), bridges, tc tbf shaping, and processes started inside a
// namespace with `ip netns exec`. cleanup() kills what the lab started and deletes every namespace it
// made; removeStaleLabs() deletes namespaces left by labs whose process died.
import { spawnSync } from 'node:child_process';
import { startProc, type Proc } from './processes.js';

const PREFIX = 'sdseg';

function run(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.error) throw new Error(`${cmd} could not run (${r.error.message}); Debian package iproute2`);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr.trim()}`);
}

/** Whether this machine can run namespace tests: root, ip and tc present. */
export function netnsAvailable(): boolean {
  if (process.getuid?.() !== 0) return false;
  return ['ip', 'tc'].every((c) => spawnSync(c, ['-V'], { encoding: 'utf8' }).status === 0);
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function listNamespaces(): string[] {
  const r = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  return (r.stdout ?? '').split('\n').map((l) => l.split(' ')[0] ?? '').filter(Boolean);
}

/** Deletes namespaces of earlier labs whose process is gone (a crashed or killed test run). */
export function removeStaleLabs(): string[] {
  const gone: string[] = [];
  for (const ns of listNamespaces()) {
    const m = new RegExp(`^${PREFIX}(\\d+)-`).exec(ns);
    if (m && !pidAlive(Number(m[1]))) {
      spawnSync('ip', ['netns', 'del', ns]);
      gone.push(ns);
    }
  }
  return gone;
}

export interface Shape {
  /** e.g. '1500kbit' */
  rate: string;
  burst?: string;
  latency?: string;
}

export class NetnsLab {
  readonly prefix = `${PREFIX}${process.pid}-`;
  private readonly namespaces: string[] = [];
  private readonly procs: Proc[] = [];

  /** Full name of a lab namespace. */
  ns(name: string): string {
    return `${this.prefix}${name}`;
  }

  addNamespace(name: string): string {
    const ns = this.ns(name);
    run('ip', ['netns', 'add', ns]);
    this.namespaces.push(ns);
    run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    return ns;
  }

  /** A bridge inside a namespace (no STP, forwarding at once), optionally with an address. */
  addBridge(name: string, bridge: string, cidr?: string): void {
    const ns = this.ns(name);
    run('ip', ['-n', ns, 'link', 'add', bridge, 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0']);
    if (cidr) run('ip', ['-n', ns, 'addr', 'add', cidr, 'dev', bridge]);
    run('ip', ['-n', ns, 'link', 'set', bridge, 'up']);
  }

  /**
   * A veth pair between two namespaces: `a` side gets `cidr` (when given), `b` side is enslaved to
   * `bridge` in its namespace (when given). Both ends up.
   */
  link(a: { ns: string; dev: string; cidr?: string }, b: { ns: string; dev: string; bridge?: string }): void {
    const nsA = this.ns(a.ns);
    const nsB = this.ns(b.ns);
    run('ip', ['link', 'add', a.dev, 'netns', nsA, 'type', 'veth', 'peer', 'name', b.dev, 'netns', nsB]);
    if (a.cidr) run('ip', ['-n', nsA, 'addr', 'add', a.cidr, 'dev', a.dev]);
    if (b.bridge) run('ip', ['-n', nsB, 'link', 'set', b.dev, 'master', b.bridge]);
    run('ip', ['-n', nsA, 'link', 'set', a.dev, 'up']);
    run('ip', ['-n', nsB, 'link', 'set', b.dev, 'up']);
  }

  /** Token-bucket shaping of a device's egress (tc tbf; netem does not exist on these kernels). */
  shape(name: string, dev: string, s: Shape): void {
    run('tc', ['-n', this.ns(name), 'qdisc', 'add', 'dev', dev, 'root', 'tbf', 'rate', s.rate, 'burst', s.burst ?? '16kb', 'latency', s.latency ?? '100ms']);
  }

  defaultRoute(name: string, via: string): void {
    run('ip', ['-n', this.ns(name), 'route', 'add', 'default', 'via', via]);
  }

  /** `superdist ARGS` inside a namespace, with its own control socket and state dir under `dir`. */
  start(name: string, ns: string, dir: string, args: string[]): Proc {
    const p = startProc(name, dir, args, (argv) => ['ip', 'netns', 'exec', this.ns(ns), ...argv]);
    this.procs.push(p);
    return p;
  }

  /** Kills every process the lab started, then deletes its namespaces. Never throws. */
  async cleanup(): Promise<void> {
    await Promise.all(
      this.procs.map(
        (p) =>
          new Promise<void>((r) => {
            if (p.child.exitCode !== null || p.child.signalCode !== null) return r();
            const t = setTimeout(r, 3000);
            p.child.once('exit', () => {
              clearTimeout(t);
              r();
            });
            p.child.kill('SIGKILL');
          }),
      ),
    );
    for (const ns of this.namespaces.splice(0)) spawnSync('ip', ['netns', 'del', ns]);
  }
}
