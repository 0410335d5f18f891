import { afterEach, describe, expect, it } from 'vitest';
import { TestClient } from './helpers/client.js';
import { startServer, type TestServer } from './helpers/server.js';

let server: TestServer;
const clients: TestClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await server.close();
});

/** A room with two well-behaved peers and one troublemaker, all joined. */
async function roomWithTroublemaker(overrides: Parameters<typeof startServer>[0] = {}) {
  server = await startServer(overrides);
  const open = async (u: string) => {
    const c = await TestClient.open(server.wsUrl, await server.token(u));
    clients.push(c);
    return c;
  };
  const [good, other, bad] = await Promise.all([open('good'), open('other'), open('bad')]);
  const g = await good.ok('room.join', { room: 'r' });
  const o = await other.ok('room.join', { room: 'r' });
  await bad.ok('room.join', { room: 'r' });
  return { good, other, bad, goodId: g.peer.id, otherId: o.peer.id };
}

/** The well-behaved peers can still signal each other. */
async function othersStillWork(ctx: Awaited<ReturnType<typeof roomWithTroublemaker>>) {
  await ctx.good.ok('signal.send', { to: ctx.otherId, signal: { still: 'fine' } });
  expect((await ctx.other.nextEvent('signal', (e) => (e.data.signal as { still?: string }).still === 'fine')).data.from).toBe(ctx.goodId);
}

describe('bad input gets its documented answer and harms no one else', () => {
  it('malformed JSON → BAD_REQUEST with id null, connection stays', async () => {
    const ctx = await roomWithTroublemaker();
    const res = await ctx.bad.requestRaw('{"id": 1, "type": ', null);
    expect(res).toMatchObject({ id: null, ok: false, error: { code: 'BAD_REQUEST', message: 'The frame is not valid JSON' } });
    await ctx.bad.ok('ping', {});
    await othersStillWork(ctx);
  });

  it('a JSON value that is not an object → BAD_REQUEST', async () => {
    const ctx = await roomWithTroublemaker();
    for (const text of ['[1,2]', '42', 'null', '"str"']) {
      const res = await ctx.bad.requestRaw(text, null);
      expect(res).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST', message: 'The frame must be a JSON object' } });
    }
    await othersStillWork(ctx);
  });

  it('a missing or invalid id → BAD_REQUEST with id null', async () => {
    const ctx = await roomWithTroublemaker();
    const res = await ctx.bad.requestRaw('{"type":"ping","data":{}}', null);
    expect(res).toMatchObject({ id: null, error: { code: 'BAD_REQUEST' } });
    const res2 = await ctx.bad.requestRaw('{"id":{"x":1},"type":"ping"}', null);
    expect(res2).toMatchObject({ id: null, error: { code: 'BAD_REQUEST' } });
  });

  it('an unknown type → BAD_REQUEST answered with the request id', async () => {
    const ctx = await roomWithTroublemaker();
    const res = await ctx.bad.requestRaw('{"id":"q-7","type":"room.destroyEverything","data":{}}', 'q-7');
    expect(res).toEqual({ id: 'q-7', ok: false, error: { code: 'BAD_REQUEST', message: 'Unknown request type "room.destroyEverything"' } });
    await othersStillWork(ctx);
  });

  it('a schema violation → BAD_REQUEST with the id and the issues', async () => {
    const ctx = await roomWithTroublemaker();
    const res = await ctx.bad.requestRaw(JSON.stringify({ id: 9, type: 'signal.send', data: { to: 5, signal: {}, extra: true } }), 9);
    expect(res.ok).toBe(false);
    if (!res.ok) {
      expect(res.id).toBe(9);
      expect(res.error.code).toBe('BAD_REQUEST');
      expect(res.error.issues?.length).toBeGreaterThan(0);
      expect(res.error.issues?.map((i) => i.path)).toContain('/to');
    }
    const badRoom = await ctx.bad.requestRaw(JSON.stringify({ id: 10, type: 'ping', data: { unexpected: 1 } }), 10);
    expect(badRoom).toMatchObject({ id: 10, ok: false, error: { code: 'BAD_REQUEST' } });
    await othersStillWork(ctx);
  });

  it('a binary frame → BAD_REQUEST', async () => {
    const ctx = await roomWithTroublemaker();
    const res = await ctx.bad.requestRaw(Buffer.from([1, 2, 3]), null);
    expect(res).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    await ctx.bad.ok('ping', {});
  });

  it('a frame over the limit → PAYLOAD_TOO_LARGE with the id, connection stays', async () => {
    const ctx = await roomWithTroublemaker();
    const big = JSON.stringify({ id: 77, type: 'data.send', data: { payload: 'x'.repeat(70_000) } });
    const res = await ctx.bad.requestRaw(big, 77);
    expect(res).toMatchObject({ id: 77, ok: false, error: { code: 'PAYLOAD_TOO_LARGE' } });
    await ctx.bad.ok('ping', {});
    await othersStillWork(ctx);
    expect(ctx.good.log.filter((e) => e.type === 'data')).toEqual([]);
  });

  it('a frame over the hard cap closes that connection with 1009; the room goes on', async () => {
    const ctx = await roomWithTroublemaker({ limits: { hardFrameBytes: 200_000 } });
    ctx.bad.send('x'.repeat(300_000));
    expect((await ctx.bad.closed).code).toBe(1009);
    const left = await ctx.good.nextEvent('peer.left');
    expect(left.data.reason).toBe('disconnected');
    await othersStillWork(ctx);
  });

  it('a flood → RATE_LIMITED answers, then close 4429; the others keep working', async () => {
    const ctx = await roomWithTroublemaker({ limits: { messagesPerSecond: 10, messageBurst: 20, floodCloseAfter: 50 } });
    for (let i = 0; i < 200; i++) {
      ctx.bad.send(JSON.stringify({ id: i, type: 'ping', data: {} }));
    }
    const closed = await ctx.bad.closed;
    expect(closed.code).toBe(4429);
    const limited = ctx.bad.stray.filter((r) => !r.ok && r.error.code === 'RATE_LIMITED');
    expect(limited.length).toBeGreaterThanOrEqual(40);
    const first = limited[0];
    expect(first && !first.ok && first.error.retryAfterMs).toBeGreaterThan(0);
    // The burst of 20, less the token room.join took.
    expect(ctx.bad.stray.filter((r) => r.ok).length).toBeGreaterThanOrEqual(19);
    await ctx.good.nextEvent('peer.left');
    await othersStillWork(ctx);
  });

  it('many invalid frames in a row → close 4400', async () => {
    const ctx = await roomWithTroublemaker({ limits: { invalidCloseAfter: 5 } });
    for (let i = 0; i < 5; i++) {
      ctx.bad.send('nope');
    }
    expect((await ctx.bad.closed).code).toBe(4400);
    await othersStillWork(ctx);
  });

  it('invalid UTF-8 closes with 1007', async () => {
    const ctx = await roomWithTroublemaker();
    // A text frame whose bytes are not UTF-8: `ws` refuses it before we see it.
    ctx.bad.ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false });
    expect((await ctx.bad.closed).code).toBe(1007);
    await othersStillWork(ctx);
  });
});
