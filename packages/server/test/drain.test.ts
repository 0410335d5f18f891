import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '@heliograph/common';
import { TestClient } from './helpers/client.js';
import { startServer, type TestServer } from './helpers/server.js';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('graceful drain', () => {
  it('tells clients, refuses newcomers, turns /readyz 503, and closes once everyone has gone', async () => {
    server = await startServer({ drain: { timeoutMs: 60_000, reconnectWithinMs: 2000 } });
    const a = await TestClient.open(server.wsUrl, await server.token('a'));
    const b = await TestClient.open(server.wsUrl, await server.token('b'));
    await a.ok('room.join', { room: 'r' });
    await b.ok('room.join', { room: 'r' });

    const drained = server.app.drain('deploy');
    const notice = await a.nextEvent('server.draining');
    expect(notice.data).toMatchObject({ reason: 'deploy', reconnectWithinMs: 2000 });
    expect(notice.data.deadline).toBeGreaterThan(Date.now() + 50_000);
    await b.nextEvent('server.draining');
    expect((await fetch(`${server.url}/readyz`)).status).toBe(503);
    const refused = await TestClient.open(server.wsUrl, await server.token('late')).then(
      () => null,
      (err: Error) => err,
    );
    expect(refused?.message).toMatch(/503/);
    // The room works until its peers leave.
    expect(await a.ok('data.send', { payload: 'still here' })).toEqual({ recipients: 1 });

    await a.close();
    await b.close();
    await drained;
    expect(
      await fetch(`${server.url}/healthz`).then(
        () => 'up',
        () => 'down',
      ),
    ).toBe('down');
  });

  it('closes what is left with 1001 at the deadline (fake clock)', async () => {
    const clock = new FakeClock(Date.now());
    server = await startServer({ drain: { timeoutMs: 30_000, reconnectWithinMs: 5000 }, ping: { intervalMs: 3_600_000 } }, { clock });
    const stays = await TestClient.open(server.wsUrl, await server.token('stays'));
    await stays.ok('room.join', { room: 'r' });
    const drained = server.app.drain();
    await stays.nextEvent('server.draining');
    clock.advance(29_999);
    await stays.ok('ping', {});
    clock.advance(1);
    await drained;
    expect((await stays.closed).code).toBe(1001);
  });
});
