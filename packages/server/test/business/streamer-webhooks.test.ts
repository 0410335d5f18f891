import { afterEach, describe, expect, it } from 'vitest';
import { HOOK_SECRET, TestBackend } from '../helpers/business-backend.js';
import { startServer, TEST_SECRET, type TestServer } from '../helpers/server.js';
import { until } from '../helpers/wait.js';
import { PsClient } from '../pixel-streaming/ps-client.js';

let server: TestServer | undefined;
let backend: TestBackend | undefined;
afterEach(async () => {
  await server?.close();
  await backend?.stop().catch(() => undefined);
  server = backend = undefined;
});

describe('streamer webhooks', () => {
  it('a Pixel Streaming streamer connecting and leaving reaches the backend, in order', async () => {
    backend = await new TestBackend({ jwtSecret: TEST_SECRET }).start();
    server = await startServer({
      webhooks: { url: backend.webhookUrl, secret: HOOK_SECRET, initialBackoffMs: 20, maxBackoffMs: 100 },
      pixelStreaming: { enabled: true, streamerPort: 0, sfuPort: 0 },
    } as Parameters<typeof startServer>[0]);
    const port = server.app.pixelStreaming!.ports.streamer;
    const streamer = await PsClient.connect(`ws://127.0.0.1:${port}/`, 'streamer');
    await streamer.expect({ type: 'identify' });
    await streamer.expectType('config');
    streamer.send({ type: 'endpointId', id: 'ue-1', protocolVersion: '1.0.0' });
    await streamer.expect({ type: 'endpointIdConfirm', committedId: 'ue-1' });
    streamer.ws.close();
    await until(() => backend!.events.filter((e) => e.type.startsWith('streamer.')).length === 2, 5000, 'streamer webhooks');
    const streamerEvents = backend.events.filter((e) => e.type.startsWith('streamer.'));
    expect(streamerEvents.map((e) => e.type)).toEqual(['streamer.connected', 'streamer.disconnected']);
    expect(streamerEvents.every((e) => e.room === 'ps:ue-1')).toBe(true);
    expect(streamerEvents[0]!.data).toMatchObject({ streamerId: 'ue-1', type: 'Streamer' });
    expect(streamerEvents[1]!.data).toMatchObject({ streamerId: 'ue-1', reason: 'closed' });
    expect(streamerEvents[1]!.seq).toBeGreaterThan(streamerEvents[0]!.seq);
  });
});
