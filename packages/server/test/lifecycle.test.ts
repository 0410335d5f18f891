import { describe, expect, it } from 'vitest';
import { FakeClock } from '@heliograph/common';
import { TestClient } from './helpers/client.js';
import { startServer } from './helpers/server.js';
import { until } from './helpers/wait.js';

/** Listening servers and sockets the process holds. */
function sockets(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'TCPServerWrap' || r === 'TCPSocketWrap').length;
}

describe('lifecycle', () => {
  it('close() frees every port, socket and timer, and is idempotent', async () => {
    const before = sockets();
    const clock = new FakeClock(Date.now());
    const server = await startServer(
      {
        pixelStreaming: { enabled: true, streamerPort: 0, sfuPort: 0 },
        turn: { urls: ['turn:127.0.0.1:3478'], secret: 'turn-secret-0123456789', ttlSeconds: 600 },
        webhooks: { url: 'http://127.0.0.1:9/hooks', secret: 'hook-secret-0123456789-0123456789' },
      } as Parameters<typeof startServer>[0],
      { clock },
    );
    const a = await TestClient.open(server.wsUrl, await server.token('a'));
    const b = await TestClient.open(server.wsUrl, await server.token('b'));
    await a.ok('room.join', { room: 'r' });
    await b.ok('room.join', { room: 'r' });
    await b.ok('room.leave', {});
    expect(sockets()).toBeGreaterThan(before);
    expect(clock.pending).toBeGreaterThan(0);

    await Promise.all([server.app.close(), server.app.close()]);
    await server.close();
    expect((await a.closed).code).toBe(1001);
    expect((await b.closed).code).toBe(1001);
    // Every timer went through the injected clock, and every one was cleared.
    expect(clock.pending).toBe(0);
    await until(() => sockets() <= before, 5000, 'every listening port and socket to close');
  });
});
