import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { playerScriptPath } from '../../src/pixel-streaming/player-page.js';
import { startPsServer, type PsTestServer } from './ps-client.js';

/**
 * Epic's player page served by Heliograph (the built bundle of each UE line's published frontend
 * UI); the page playing a stream in Chromium is test/pixel-streaming/player-page.browser.test.ts.
 */
let ps: PsTestServer | undefined;
afterEach(async () => {
  await ps?.close();
  ps = undefined;
});

const bundle = (line: string) => readFileSync(fileURLToPath(new URL(`../../www/ue${line}/player.js`, import.meta.url)));

describe('the player page', () => {
  it('serves the page at /player.html and the default line’s bundle beside it', async () => {
    ps = await startPsServer();
    const page = await fetch(`${ps.server.url}/player.html`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await page.text()).toContain('<script src="/player.js"></script>');
    const script = await fetch(`${ps.server.url}/player.js`);
    expect(script.headers.get('content-type')).toMatch(/^text\/javascript/);
    const body = Buffer.from(await script.arrayBuffer());
    expect(body.equals(bundle('5.7'))).toBe(true);
    expect(body.toString('utf8', 0, 200)).toContain('lib-pixelstreamingfrontend-ui-ue5.7');
    const again = await fetch(`${ps.server.url}/player.js`, { headers: { 'if-none-match': script.headers.get('etag')! } });
    expect(again.status).toBe(304);
    // The demo keeps `/`.
    expect(await (await fetch(`${ps.server.url}/`)).text()).not.toContain('/player.js');
  });

  it.each(['5.5', '5.6'] as const)('serves UE %s’s frontend UI when chosen, at a path of choice', async (ueLine) => {
    ps = await startPsServer({ playerPage: { enabled: true, ueLine, path: '/stream/' } });
    expect(await (await fetch(`${ps.server.url}/stream/`)).text()).toContain('<script src="/stream/player.js"></script>');
    const body = Buffer.from(await (await fetch(`${ps.server.url}/stream/player.js`)).arrayBuffer());
    expect(body.equals(bundle(ueLine))).toBe(true);
    expect((await fetch(`${ps.server.url}/player.html`)).status).toBe(404);
  });

  it('is the homepage when the demo is off, and absent when turned off', async () => {
    ps = await startPsServer({}, { demo: { enabled: false } });
    expect(await (await fetch(`${ps.server.url}/`)).text()).toContain('<script src="/player.js"></script>');
    await ps.close();
    ps = await startPsServer({ playerPage: { enabled: false, ueLine: '5.7', path: '/player.html' } });
    expect((await fetch(`${ps.server.url}/player.html`)).status).toBe(404);
    expect((await fetch(`${ps.server.url}/player.js`)).status).toBe(404);
  });

  it('puts the script where the browser looks for `player.js`', () => {
    expect(playerScriptPath('/player.html')).toBe('/player.js');
    expect(playerScriptPath('/')).toBe('/player.js');
    expect(playerScriptPath('/a/b/')).toBe('/a/b/player.js');
    expect(playerScriptPath('/a/b')).toBe('/a/player.js');
  });
});
