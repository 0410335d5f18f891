import { afterEach, describe, expect, it } from 'vitest';
import { TestClient } from '../helpers/client.js';
import { startServer, type TestServer } from '../helpers/server.js';

/**
 * Errors by code include what a connection refuses at its edge, before any dispatch: a frame
 * that does not decode, one over the size limit, and one over the rate.
 */
let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function errorCount(code: string): Promise<number> {
  const text = await (await fetch(`${server!.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`heliograph_request_errors_total{code="${code}"}`));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

describe('errors refused at the edge are counted by code', () => {
  it('counts BAD_REQUEST, PAYLOAD_TOO_LARGE and RATE_LIMITED answered before dispatch', async () => {
    server = await startServer({ limits: { maxFrameBytes: 1024, messagesPerSecond: 1, messageBurst: 3, floodCloseAfter: 100 } });
    const client = await TestClient.open(server.wsUrl, await server.token('alice'));
    await client.nextEvent('session.ready');
    expect((await client.requestRaw('{"id":1,"type":"no.such"}', 1)).ok).toBe(false);
    expect((await client.requestRaw(JSON.stringify({ id: 2, type: 'ping', data: { pad: 'x'.repeat(2000) } }), 2)).ok).toBe(false);
    // The bucket held 3: two went above; the third passes, the fourth is over the rate.
    await client.request('ping', {});
    const limited = await client.request('ping', {});
    expect(limited.ok ? undefined : limited.error.code).toBe('RATE_LIMITED');
    expect(await errorCount('BAD_REQUEST')).toBe(1);
    expect(await errorCount('PAYLOAD_TOO_LARGE')).toBe(1);
    expect(await errorCount('RATE_LIMITED')).toBe(1);
  });
});
