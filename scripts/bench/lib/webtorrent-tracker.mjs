// A bittorrent-tracker server (HTTP only) on 127.0.0.1 for the download benchmark; prints its
// announce URL on stdout, runs until SIGTERM.
import { Server } from 'bittorrent-tracker';

const server = new Server({ udp: false, http: true, ws: false, stats: false, trustProxy: false });
server.on('error', (err) => {
  process.stderr.write(`tracker error: ${err.message}\n`);
  process.exit(1);
});
server.on('warning', () => undefined);
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`http://127.0.0.1:${server.http.address().port}/announce\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
