// Module resolve hook for the WebTorrent benchmark peers: WebTorrent imports a WebRTC polyfill whose
// native addon (node-datachannel) is not built here (its install script is denied in package.json,
// it downloads prebuilt binaries). The benchmark uses TCP peers only, so the polyfill is replaced by
// an empty module.
const STUB = 'data:text/javascript,export const RTCPeerConnection = undefined, RTCSessionDescription = undefined, RTCIceCandidate = undefined; export default {};';

export async function resolve(specifier, context, next) {
  if (specifier === 'webrtc-polyfill') return { url: STUB, shortCircuit: true };
  return next(specifier, context);
}
