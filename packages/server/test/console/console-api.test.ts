import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControlClient, type StreamEvent } from '../../src/cli/console/control-client.js';
import { FakeClock } from '@heliograph/common';
import { createLogger } from '../../src/shared/logger.js';
import { TestClient } from '../helpers/client.js';
import { NO_RATE_LIMITS, startServer, type TestServer } from '../helpers/server.js';
import { eventually as waitFor } from '../helpers/wait.js';

/**
 * The operator console's control API on one real node: figures, the inspector (a real call's
 * offer, answer and candidates; never a token), its bounds and scopes, and the audit lines.
 */
const READ = 'console-read-key-0123456789-abcdef';
const WRITE = 'console-write-key-0123456789-abcdef';
const logLines: Array<Record<string, unknown>> = [];
let server: TestServer;

beforeAll(async () => {
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) {
        logLines.push(JSON.parse(line) as Record<string, unknown>);
      }
      done();
    },
  });
  server = await startServer(
    {
      controlApi: {
        keys: [
          { id: 'ops-read', key: READ, scope: 'read' },
          { id: 'ops', key: WRITE, scope: 'read-write' },
        ],
      },
    },
    { logger: createLogger('info', sink) },
  );
});
afterAll(() => server.close());

async function joined(user: string, room: string): Promise<{ client: TestClient; peer: string; token: string }> {
  const token = await server.token(user);
  const client = await TestClient.open(server.wsUrl, token);
  const data = await client.ok('room.join', { room });
  return { client, peer: data.peer.id, token };
}

/** Opens an event stream and collects its events until `stop()`. */
function collect(client: ControlClient, path: string): { events: StreamEvent[]; done: Promise<void>; stop: () => void } {
  const abort = new AbortController();
  const events: StreamEvent[] = [];
  const done = client.stream(path, (e) => events.push(e), abort.signal);
  return { events, done, stop: () => abort.abort() };
}

describe('operator console API', () => {
  it('refuses without a key and gives the figures of the node with a read key', async () => {
    const res = await fetch(`${server.url}/v1/console/overview`);
    expect(res.status).toBe(401);
    const a = await joined('fig-a', 'figures');
    const b = await joined('fig-b', 'figures');
    await a.client.ok('signal.send', { to: b.peer, signal: { candidate: { candidate: 'x' } } });
    const failed = await a.client.request('signal.send', { to: 'PR_nobody', signal: {} });
    expect(failed.ok).toBe(false);
    const overview = await new ControlClient(server.url, READ).get<{ cluster: boolean; rooms: number; nodes: Array<Record<string, unknown>> }>(
      '/v1/console/overview',
    );
    expect(overview.cluster).toBe(false);
    expect(overview.rooms).toBe(1);
    expect(overview.nodes).toHaveLength(1);
    expect(overview.nodes[0]).toMatchObject({ state: 'ready', connections: 2, rooms: 1, peers: 2, signals: 1, errors: { PEER_NOT_FOUND: 1 } });
    expect(overview.nodes[0]?.relayP99Ms).toEqual(expect.any(Number));
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/heliograph_request_errors_total\{code="PEER_NOT_FOUND"\} 1/);
    expect(metrics).toMatch(/heliograph_signal_relay_seconds_count 1/);
    await a.client.close();
    await b.client.close();
  });

  it("keeps the node's figures of the last minutes, a sample every two seconds", async () => {
    const read = new ControlClient(server.url, READ);
    type History = { nodes: Array<{ node: string; samples: Array<{ at: number; signals: number }> }> };
    await waitFor(async () => ((await read.get<History>('/v1/console/history')).nodes[0]?.samples.length ?? 0) >= 2, 8000, 'two samples');
    const { nodes } = await read.get<History>('/v1/console/history');
    expect(nodes).toHaveLength(1);
    const [first, second] = nodes[0]!.samples;
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(1500);
    expect(second!.signals).toBeGreaterThanOrEqual(first!.signals);
  });

  it('streams the overview as server-sent events', async () => {
    const stream = collect(new ControlClient(server.url, READ), '/v1/console/stream?intervalMs=500');
    await waitFor(() => stream.events.filter((e) => e.event === 'overview').length >= 2);
    stream.stop();
    await stream.done;
  });

  it('inspects a room: offer, answer and candidates with their sizes and timing, never a token or an ICE password', async () => {
    const read = new ControlClient(server.url, READ);
    await expect(read.get('/v1/inspect?room=call')).rejects.toThrow(/FORBIDDEN: The inspector needs a read-write API key/);
    const rw = new ControlClient(server.url, WRITE);
    await expect(rw.get('/v1/inspect')).rejects.toThrow(/BAD_REQUEST/);
    const stream = collect(rw, '/v1/inspect?room=call');
    await waitFor(() => stream.events.some((e) => e.event === 'started'));
    const a = await joined('alice', 'call');
    const b = await joined('bob', 'call');
    const sdp = 'v=0\r\na=ice-ufrag:UFRAG\r\na=ice-pwd:thisisthesecreticepassword\r\n';
    await a.client.ok('signal.send', { to: b.peer, signal: { description: { type: 'offer', sdp }, token: a.token } });
    await b.client.ok('signal.send', { to: a.peer, signal: { description: { type: 'answer', sdp: 'v=0\r\n' } } });
    await a.client.ok('signal.send', { to: b.peer, signal: { candidate: { candidate: 'candidate:1 1 udp 1 192.0.2.1 5000 typ host' } } });
    await waitFor(() => stream.events.filter((e) => e.event === 'record').length >= 9 + 2 * 2);
    stream.stop();
    await stream.done;
    const records = stream.events.filter((e) => e.event === 'record').map((e) => e.data as Record<string, unknown>);
    const text = JSON.stringify(stream.events);
    expect(text).not.toContain(a.token);
    expect(text).not.toContain(b.token);
    expect(text).not.toContain('thisisthesecreticepassword');
    expect(text).toContain('a=ice-ufrag:UFRAG');
    const offerIn = records.find((r) => r.kind === 'request' && JSON.stringify(r.body).includes('"offer"'));
    expect(offerIn).toMatchObject({ direction: 'in', type: 'signal.send', room: 'call', peer: a.peer, bytes: expect.any(Number) });
    expect(records.find((r) => r.kind === 'event' && r.peer === b.peer && JSON.stringify(r.body).includes('"offer"'))).toMatchObject({
      direction: 'out',
      type: 'signal',
    });
    expect(records.find((r) => r.kind === 'answer' && r.type === 'signal.send')).toMatchObject({ direction: 'out', ms: expect.any(Number) });
    expect(text).toContain('"answer"');
    expect(text).toContain('typ host');
    await a.client.close();
    await b.client.close();
    // Capture is off again once the stream closed.
    await waitFor(async () => (await rw.get<{ nodes: Array<{ inspectorCaptures: number }> }>('/v1/console/overview')).nodes[0]?.inspectorCaptures === 0);
  });

  it('inspects one peer: what it sends and what is relayed to it, nothing of the others', async () => {
    const rw = new ControlClient(server.url, WRITE);
    const a = await joined('p-alice', 'peer-room');
    const b = await joined('p-bob', 'peer-room');
    const c = await joined('p-carol', 'peer-room');
    const stream = collect(rw, `/v1/inspect?peer=${b.peer}`);
    await waitFor(() => stream.events.some((e) => e.event === 'started'));
    await a.client.ok('signal.send', { to: b.peer, signal: { n: 1 } });
    await a.client.ok('signal.send', { to: c.peer, signal: { n: 2 } });
    await b.client.ok('signal.send', { to: c.peer, signal: { n: 3 } });
    await waitFor(() => stream.events.filter((e) => e.event === 'record').length >= 3);
    stream.stop();
    await stream.done;
    const records = stream.events.filter((e) => e.event === 'record').map((e) => e.data as { kind: string; body: unknown });
    expect(records.map((r) => `${r.kind}:${JSON.stringify(r.body)}`)).toEqual([
      `event:{"from":"${a.peer}","signal":{"n":1}}`,
      `request:{"to":"${c.peer}","signal":{"n":3}}`,
      'answer:{}',
    ]);
    for (const x of [a, b, c]) {
      await x.client.close();
    }
  });

  it('bounds the captures of a node', async () => {
    const rw = new ControlClient(server.url, WRITE);
    const streams = Array.from({ length: 8 }, (_, i) => collect(rw, `/v1/inspect?room=bound-${i}`));
    await waitFor(() => streams.every((s) => s.events.some((e) => e.event === 'started')));
    await expect(rw.get('/v1/inspect?room=one-too-many')).rejects.toThrow(/UNAVAILABLE/);
    for (const s of streams) {
      s.stop();
      await s.done;
    }
  });

  it('bounds the records of a capture per second, and says how many it dropped', async () => {
    // A node of its own, without request rates: the flood must reach the inspector.
    // The inspector's budget runs on the injected clock: its refill is fake time, not a sleep.
    const clock = new FakeClock(Date.now());
    const flooded = await startServer({ limits: NO_RATE_LIMITS, controlApi: { keys: [{ id: 'ops', key: WRITE, scope: 'read-write' }] } }, { clock });
    const rw = new ControlClient(flooded.url, WRITE);
    const join = async (user: string) => {
      const client = await TestClient.open(flooded.wsUrl, await flooded.token(user));
      return { client, peer: (await client.ok('room.join', { room: 'flood' })).peer.id };
    };
    const a = await join('flood-a');
    const b = await join('flood-b');
    const stream = collect(rw, '/v1/inspect?room=flood');
    await waitFor(() => stream.events.some((e) => e.event === 'started'));
    const started = clock.now();
    // 1,000 signals make 3,000 records (request, answer, relayed event): far over the burst of 400.
    await Promise.all(Array.from({ length: 1000 }, (_, n) => a.client.request('signal.send', { to: b.peer, signal: { n } })));
    await a.client.ok('ping', {});
    clock.advance(1200);
    await a.client.ok('signal.send', { to: b.peer, signal: { last: true } });
    await waitFor(() => stream.events.some((e) => JSON.stringify(e.data).includes('"last":true')));
    const seconds = (clock.now() - started) / 1000;
    stream.stop();
    await stream.done;
    const records = stream.events.filter((e) => e.event === 'record').map((e) => e.data as { dropped?: number });
    expect(records.length).toBeLessThanOrEqual(400 + Math.ceil(seconds * 200) + 3);
    const dropped = records.reduce((n, r) => n + (r.dropped ?? 0), 0);
    expect(dropped).toBeGreaterThan(1000);
    expect(records.length + dropped).toBeGreaterThanOrEqual(3000);
    await flooded.close();
  });

  it('refuses bad inspector queries and more figure streams than a node serves', async () => {
    const rw = new ControlClient(server.url, WRITE);
    await expect(rw.get('/v1/inspect?room=a&peer=b')).rejects.toThrow(/BAD_REQUEST: Name one room/);
    await expect(rw.get(`/v1/inspect?room=${'x'.repeat(200)}`)).rejects.toThrow(/BAD_REQUEST/);
    await expect(rw.get('/v1/inspect?room=a&debug=1')).rejects.toThrow(/BAD_REQUEST/);
    await expect(rw.get('/v1/console/stream?intervalMs=1')).rejects.toThrow(/BAD_REQUEST/);
    const streams = Array.from({ length: 32 }, () => collect(rw, '/v1/console/stream?intervalMs=60000'));
    await waitFor(() => streams.every((s) => s.events.some((e) => e.event === 'overview')));
    await expect(rw.get('/v1/console/stream')).rejects.toThrow(/UNAVAILABLE: This node already serves 32 console streams/);
    for (const s of streams) {
      s.stop();
      await s.done;
    }
    await waitFor(async () => {
      const extra = collect(rw, '/v1/console/stream');
      await new Promise((r) => setTimeout(r, 100));
      const ok = extra.events.some((e) => e.event === 'overview');
      extra.stop();
      await extra.done.catch(() => undefined);
      return ok;
    });
  });

  it('writes an audit line for every change made through the control API, with the key id and never the key', async () => {
    const rw = new ControlClient(server.url, WRITE);
    const a = await joined('audited', 'audit-room');
    await rw.post(`/v1/rooms/audit-room/peers/${a.peer}/kick`, { reason: 'test' });
    await rw.delete('/v1/rooms/audit-room');
    await expect(rw.delete('/v1/rooms/audit-room')).rejects.toThrow(/ROOM_NOT_FOUND/);
    await waitFor(() => logLines.filter((l) => l.audit === true && l.method === 'DELETE').length >= 2);
    const audits = logLines.filter((l) => l.audit === true);
    expect(audits).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          apiKey: 'ops',
          method: 'POST',
          route: '/v1/rooms/:roomId/peers/:peerId/kick',
          params: { roomId: 'audit-room', peerId: a.peer },
          status: 204,
        }),
        expect.objectContaining({ apiKey: 'ops', method: 'DELETE', route: '/v1/rooms/:roomId', status: 204 }),
        expect.objectContaining({ apiKey: 'ops', method: 'DELETE', route: '/v1/rooms/:roomId', status: 404 }),
        expect.objectContaining({ apiKey: 'ops', action: 'inspect', target: { room: 'call' } }),
      ]),
    );
    expect(JSON.stringify(logLines)).not.toContain(WRITE);
    await a.client.close();
  });
});
