// Shared by the browser end-to-end tests: our signaling server (which serves www/, dist/ and the
// browser modules of js/) and one headless Chromium per test file, with the flags real WebRTC
// needs inside the private network namespace (docs: /work/shared/docs/webrtc-testing.md).
// Run the tests under scripts/netns.sh; they refuse to start WebRTC in the host's namespace.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createServer } from '../../../js/server/index.js';
import { CHROMIUM, launchChromium } from '../../webrtc/helpers/chromium.js';
import { assertPrivateNetns } from '../../webrtc/helpers/netns.js';

export { CHROMIUM };

/** Starts the server on a free port and launches Chromium; returns { server, browser, close }. */
export async function startBrowserAndServer() {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing (scripts/setup.sh installs chromium)`);
  assertPrivateNetns();
  const server = await createServer({ port: 0, logger: { level: 'silent' } });
  const browser = await launchChromium();

  return {
    server,
    browser,
    async close() {
      await browser.close();
      await server.close();
    },
  };
}

/** Polls fn (sync or async) until it returns something truthy; fails with `message` after timeoutMs. */
export async function waitUntil(fn, { timeoutMs = 20_000, intervalMs = 25, message = 'condition' } = {}) {
  const end = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await fn();
    if (last) return last;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${message}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
