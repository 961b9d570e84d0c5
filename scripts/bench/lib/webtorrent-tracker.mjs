// A bittorrent-tracker server (HTTP only) for the download and VoD benchmarks; prints its announce
// URL on stdout, runs until SIGTERM.
//   node webtorrent-tracker.mjs [HOST [PORT]]     (127.0.0.1 and any free port by default)
import { Server } from 'bittorrent-tracker';

const server = new Server({ udp: false, http: true, ws: false, stats: false, trustProxy: false });
server.on('error', (err) => {
  process.stderr.write(`tracker error: ${err.message}\n`);
  process.exit(1);
});
server.on('warning', () => undefined);
const [host = '127.0.0.1', port = '0'] = process.argv.slice(2);
server.listen(Number(port), host, () => {
  process.stdout.write(`http://${host}:${server.http.address().port}/announce\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
