import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, type TestBrowser } from '../helpers/browser.js';
import { startServer, type TestServer } from '../helpers/server.js';

/**
 * The browser tests' ground: headless Chromium reaches the server on loopback and, inside the
 * test namespace, gathers host ICE candidates (it gathers none without a default route).
 */
describe('browser test environment', () => {
  let server: TestServer;
  let chrome: TestBrowser;
  beforeAll(async () => {
    server = await startServer();
    chrome = await launchChromium();
  });
  afterAll(async () => {
    await chrome?.close();
    await server?.close();
  });

  it('loads a page from the server and gathers a host ICE candidate', async () => {
    const page = await chrome.browser.newPage();
    await page.goto(`${server.url}/healthz`);
    expect(await page.textContent('body')).toContain('"status":"ok"');
    const candidates = await page.evaluate(async () => {
      const pc = new RTCPeerConnection();
      pc.createDataChannel('probe');
      const found: string[] = [];
      const done = new Promise<void>((resolve) => {
        pc.onicecandidate = (e) => (e.candidate ? found.push(e.candidate.candidate) : resolve());
      });
      await pc.setLocalDescription(await pc.createOffer());
      await done;
      pc.close();
      return found;
    });
    expect(candidates.some((c) => / typ host/.test(c))).toBe(true);
  });
});
