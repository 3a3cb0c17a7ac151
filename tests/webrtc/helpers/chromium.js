// Headless Chromium with the flags real WebRTC needs inside the private network namespace
// (/work/shared/docs/webrtc-testing.md). Shared by the WebRTC tests, the browser e2e tests and
// the rooms benchmark, so the flags live in one place.
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  // Media permission makes Chromium gather host candidates with real addresses (10.77.0.1 in
  // the namespace); without it a namespace with no default route yields no candidates at all.
  // (No extra --disable-features: it would replace Playwright's own list.)
  '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
];

export function launchChromium() {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}
