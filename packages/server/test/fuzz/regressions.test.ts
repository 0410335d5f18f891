import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { TestClient } from '../helpers/client.js';
import { FUZZ_SEED, RW_KEY, startFuzzServer, type FuzzServer } from './fuzz-harness.js';

/**
 * What the fuzzers found (see their seeds in the messages below), each reduced to the request
 * that shows it. They run with the fuzzers and stay when the generators change.
 */

let node: FuzzServer | undefined;
afterEach(async () => {
  await node?.server.close();
  node = undefined;
});

/** Sends raw bytes and resolves with what came back before the server closed (or 2 s passed). */
function raw(port: number, request: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(Buffer.from(request, 'latin1')));
    let got = '';
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(got);
    };
    const timer = setTimeout(done, 2_000);
    socket.on('data', (chunk: Buffer) => {
      got += chunk.toString('latin1');
      if (/^HTTP\/1\.1 101 /.test(got) || /\r\n\r\n/.test(got)) {
        // A status line and headers are all these tests look at; a body may follow.
        setTimeout(done, 50);
      }
    });
    socket.on('error', () => {});
    socket.on('close', done);
  });
}

function upgrade(target: string): string {
  return `GET ${target} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`;
}

function portOf(url: string): number {
  return Number(new URL(url).port);
}

function errorOf(response: string): unknown {
  return JSON.parse(response.slice(response.indexOf('\r\n\r\n') + 4)) as unknown;
}

describe(`fuzzer findings (seed ${FUZZ_SEED})`, () => {
  it.each(['//a:99999', '//a:99999/ws', '//[zz]/', 'http://[::1', 'http://a:99999/ws'])(
    'an upgrade whose request target is not a URL (%s) is answered, on every port, and nothing throws',
    async (target) => {
      node = await startFuzzServer({ pixelStreaming: { enabled: true, streamerPort: 0, sfuPort: 0 } });
      const ports = [portOf(node.target.httpUrl), portOf(node.target.ps!.streamerUrl), portOf(node.target.ps!.sfuUrl)];
      for (const port of ports) {
        const answer = await raw(port, upgrade(target));
        expect(answer, `port ${port}`).toMatch(/^HTTP\/1\.1 (101|4\d\d) /);
      }
      expect(node.findings.list).toEqual([]);
    },
  );

  it.each([
    ['a request line that is not HTTP', 'HELLO\r\n\r\n', 400, 'BAD_REQUEST'],
    ['bytes after a request without a body', 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n\u0000', 400, 'BAD_REQUEST'],
    ['headers over the limit', `GET /v1/rooms HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${'k'.repeat(20_000)}\r\n\r\n`, 431, 'PAYLOAD_TOO_LARGE'],
  ])('%s gets the documented error body, and Connection: close', async (_what, request, status, code) => {
    node = await startFuzzServer();
    const answer = await raw(portOf(node.target.httpUrl), request);
    const last = answer.slice(answer.lastIndexOf('HTTP/1.1 '));
    expect(last).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `));
    expect(last).toMatch(/\r\nconnection: close\r\n/i);
    expect(errorOf(last)).toMatchObject({ error: { code, message: expect.any(String) } });
  });

  it('a HEAD request with headers over the limit gets 431 without a body', async () => {
    node = await startFuzzServer();
    const answer = await raw(portOf(node.target.httpUrl), `HEAD /v1/lobby/rooms HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${'k'.repeat(20_000)}\r\n\r\n`);
    expect(answer).toMatch(/^HTTP\/1\.1 431 /);
    expect(answer.endsWith('\r\n\r\n')).toBe(true);
  });

  it.each([
    ['a path parameter over 100 characters', `/v1/webhooks/dead-letters/${'e'.repeat(101)}/redeliver`, 414],
    ['a path with malformed percent-encoding', '/v1/webhooks/dead-letters/%zz/redeliver', 400],
  ])('%s gets the documented error body', async (_what, path, status) => {
    node = await startFuzzServer();
    const res = await fetch(`${node.target.httpUrl}${path}`, { method: 'POST', headers: { authorization: `Bearer ${RW_KEY}` } });
    expect(res.status).toBe(status);
    expect(await res.json()).toEqual({ error: { code: 'BAD_REQUEST', message: expect.any(String) } });
  });

  it('a resume from before what the client acknowledged is SESSION_EXPIRED, not a replay with a hole', async () => {
    node = await startFuzzServer();
    const token = (user: string) => node!.server.token(user);
    const a = await TestClient.open(node.target.wsUrl, await token('a'));
    const ready = await a.nextEvent('session.ready');
    const joined = await a.ok('room.join', { room: 'r' });
    const b = await TestClient.open(node.target.wsUrl, await token('b'));
    await b.ok('room.join', { room: 'r' });
    await a.nextEvent('peer.joined');
    await b.ok('data.send', { to: joined.peer.id, payload: 'three' });
    await a.nextEvent('data');
    await a.ok('session.ack', { seq: 3 });
    a.ws.terminate(); // cut, no close frame: the session waits for a resume
    await a.closed;
    const c = await TestClient.open(node.target.wsUrl, await token('a'));
    await c.nextEvent('session.ready');
    const { session, secret } = ready.data.resume!;
    // It acknowledged 3 and now says it processed only 1: events 2 and 3 are gone.
    expect(await c.fail('session.resume', { session, secret, lastSeq: 1 })).toMatchObject({ code: 'SESSION_EXPIRED' });
    await b.close();
    await c.close();
  });
});
