// One WebTorrent peer of the download benchmark (TCP only: no DHT, LSD, uTP, WebRTC or UPnP).
//   node --import ./no-webrtc.mjs webtorrent-peer.mjs seed FILE ANNOUNCE TORRENT_OUT PIECE_BYTES
//     hashes FILE, writes the .torrent, prints "ready", seeds until SIGTERM
//   node --import ./no-webrtc.mjs webtorrent-peer.mjs get TORRENT OUT_DIR
//     downloads into OUT_DIR, prints "done" when every piece is verified, then keeps seeding
//   node --import ./no-webrtc.mjs webtorrent-peer.mjs stream TORRENT OUT_DIR PORT
//     downloads as `get` does and streams the torrent's file over HTTP on 127.0.0.1:PORT (WebTorrent's
//     own server: byte ranges, pieces a range needs fetched first); prints "url URL" once it serves
import { readFileSync, writeFileSync } from 'node:fs';
import WebTorrent from 'webtorrent';

const [mode, ...args] = process.argv.slice(2);
const client = new WebTorrent({ dht: false, lsd: false, utp: false, webSeeds: false, natUpnp: false, natPmp: false });
client.on('error', (err) => {
  process.stderr.write(`webtorrent error: ${err.message ?? err}\n`);
  process.exit(1);
});

if (mode === 'seed') {
  const [file, announce, torrentOut, pieceBytes] = args;
  client.seed(file, { announce: [announce], pieceLength: Number(pieceBytes) }, (torrent) => {
    writeFileSync(torrentOut, torrent.torrentFile);
    process.stdout.write('ready\n');
  });
} else if (mode === 'get') {
  const [torrentFile, outDir] = args;
  const torrent = client.add(readFileSync(torrentFile), { path: outDir });
  torrent.on('done', () => process.stdout.write('done\n'));
} else if (mode === 'stream') {
  const [torrentFile, outDir, port] = args;
  const server = client.createServer({}, 'node');
  server.listen(Number(port), '127.0.0.1');
  const torrent = client.add(readFileSync(torrentFile), { path: outDir });
  torrent.on('ready', () => {
    const file = torrent.files[0];
    process.stdout.write(`url http://127.0.0.1:${port}/webtorrent/${torrent.infoHash}/${encodeURIComponent(file.path).replace(/%2F/g, '/')}\n`);
  });
  torrent.on('done', () => process.stdout.write('done\n'));
} else {
  process.stderr.write('usage: webtorrent-peer.mjs seed FILE ANNOUNCE TORRENT_OUT PIECE_BYTES | get TORRENT OUT_DIR | stream TORRENT OUT_DIR PORT\n');
  process.exit(2);
}
process.on('SIGTERM', () => client.destroy(() => process.exit(0)));
