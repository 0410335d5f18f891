import { createHmac } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '@heliograph/common';
import { TestClient } from '../helpers/client.js';
import { startServer, type TestServer } from '../helpers/server.js';

const TURN_SECRET = 'turn-secret-0123456789';
let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('ICE servers on join', () => {
  it('gives the fixed servers plus TURN credentials minted for this user, renewed before they expire', async () => {
    const clock = new FakeClock(Date.UTC(2026, 0, 1));
    server = await startServer(
      {
        iceServers: [{ urls: 'stun:stun.example.com:3478' }],
        turn: { urls: ['turn:turn.example.com:3478?transport=udp'], secret: TURN_SECRET, ttlSeconds: 600 },
        ping: { intervalMs: 3_600_000 },
      },
      { clock },
    );
    const ada = await TestClient.open(server.wsUrl, await server.token('ada'));
    const joined = await ada.ok('room.join', { room: 'r' });
    const expiry = Date.UTC(2026, 0, 1) / 1000 + 600;
    expect(joined.iceServers).toEqual([
      { urls: 'stun:stun.example.com:3478' },
      {
        urls: ['turn:turn.example.com:3478?transport=udp'],
        username: `${expiry}:ada`,
        credential: createHmac('sha1', TURN_SECRET).update(`${expiry}:ada`).digest('base64'),
      },
    ]);

    clock.advance(479_999);
    expect(ada.events.filter((e) => e.type === 'ice.servers')).toEqual([]);
    clock.advance(1);
    const fresh = await ada.nextEvent('ice.servers');
    expect(fresh.data.expiresAt).toBe(Date.UTC(2026, 0, 1) + 480_000 + 600_000);
    expect(fresh.data.iceServers[1]?.username).toBe(`${Date.UTC(2026, 0, 1) / 1000 + 480 + 600}:ada`);

    clock.advance(480_000);
    expect((await ada.nextEvent('ice.servers')).data.expiresAt).toBe(Date.UTC(2026, 0, 1) + 960_000 + 600_000);

    // Out of the room, no more refreshes.
    await ada.ok('room.leave', {});
    clock.advance(2_000_000);
    await ada.ok('ping', {});
    expect(ada.events.filter((e) => e.type === 'ice.servers')).toEqual([]);
    await ada.close();
  });

  it('without TURN, only the fixed servers and no refresh', async () => {
    const clock = new FakeClock(Date.UTC(2026, 0, 1));
    server = await startServer({ iceServers: [{ urls: 'stun:a.example:3478' }], ping: { intervalMs: 3_600_000 } }, { clock });
    const ada = await TestClient.open(server.wsUrl, await server.token('ada'));
    expect((await ada.ok('room.join', { room: 'r' })).iceServers).toEqual([{ urls: 'stun:a.example:3478' }]);
    clock.advance(10_000_000);
    await ada.ok('ping', {});
    expect(ada.log.map((e) => e.type)).not.toContain('ice.servers');
    await ada.close();
  });
});
