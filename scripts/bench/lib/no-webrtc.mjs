// `node --import ./no-webrtc.mjs …`: installs no-webrtc-hooks.mjs (see there).
import { register } from 'node:module';

register(new URL('./no-webrtc-hooks.mjs', import.meta.url));
