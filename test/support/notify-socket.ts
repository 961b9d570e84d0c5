// A stand-in for systemd's notification socket: a unix datagram socket (Node cannot bind one, so
// a few lines of python3 do) that records every notification the `systemd-notify` CLI sends.
// File descriptors passed along (systemd-notify's BARRIER=1) are closed at once, as systemd does,
// so the CLI's synchronous wait ends.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

const LISTENER = `
import array, json, os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print(json.dumps({"listening": sys.argv[1]}), flush=True)
while True:
    data, anc, flags, addr = s.recvmsg(65536, socket.CMSG_SPACE(64 * 4))
    for level, kind, cdata in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds = array.array("i")
            fds.frombytes(cdata[: len(cdata) - (len(cdata) % fds.itemsize)])
            for fd in fds:
                os.close(fd)
    print(json.dumps({"message": data.decode("utf-8", "replace")}), flush=True)
`;

/** One notification: its fields (`READY` → `1`), in arrival order. */
export interface Notification {
  fields: Record<string, string>;
  at: number;
}

export interface NotifySocket {
  path: string;
  /** Every notification so far, without systemd-notify's BARRIER=1 messages. */
  readonly received: Notification[];
  /** Waits for a notification with `field` (and `value`, if given) after index `from`. */
  waitFor(field: string, value?: string, timeoutMs?: number, from?: number): Promise<Notification>;
  close(): Promise<void>;
}

function parse(message: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of message.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) fields[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return fields;
}

export async function listenNotifySocket(path: string): Promise<NotifySocket> {
  const child: ChildProcess = spawn('python3', ['-u', '-c', LISTENER, path], { stdio: ['ignore', 'pipe', 'pipe'] });
  const received: Notification[] = [];
  const waiters = new Set<() => void>();
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  await new Promise<void>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    child.once('error', (err) => reject(new Error(`python3 could not start: ${err.message}`)));
    child.once('exit', (code) => reject(new Error(`notify listener exited (${code}): ${stderr}`)));
    lines.on('line', (line) => {
      const msg = JSON.parse(line) as { listening?: string; message?: string };
      if (msg.listening) resolve();
      if (msg.message === undefined) return;
      const fields = parse(msg.message);
      if (Object.keys(fields).length === 1 && fields.BARRIER === '1') return;
      received.push({ fields, at: Date.now() });
      for (const w of waiters) w();
    });
  });

  return {
    path,
    received,
    waitFor(field, value, timeoutMs = 10_000, from = 0) {
      const find = () => received.slice(from).find((n) => field in n.fields && (value === undefined || n.fields[field] === value));
      return new Promise<Notification>((resolve, reject) => {
        const hit = find();
        if (hit) return resolve(hit);
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no ${field}${value === undefined ? '' : `=${value}`} notification within ${timeoutMs} ms; got ${JSON.stringify(received.map((n) => n.fields))}`));
        }, timeoutMs);
        const check = () => {
          const n = find();
          if (!n) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(n);
        };
        waiters.add(check);
      });
    },
    close() {
      return new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      });
    },
  };
}
