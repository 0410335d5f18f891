import { get } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestClient } from './helpers/client.js';
import { haveTool } from './helpers/require-tool.js';
import { selfSignedCertificate, type SelfSigned } from './helpers/tls.js';
import { startServer, type TestServer } from './helpers/server.js';

const hasOpenssl = haveTool('openssl', 'openssl');

describe.runIf(hasOpenssl)('TLS: one port serves HTTPS and WSS', () => {
  let tls: SelfSigned;
  let server: TestServer;
  let ca: Buffer;

  beforeAll(async () => {
    tls = selfSignedCertificate();
    ca = tls.ca;
    const { cert, key } = tls;
    server = await startServer({ tls: { cert, key } });
  });

  afterAll(async () => {
    await server?.close();
    tls?.remove();
  });

  it('answers /healthz over HTTPS', async () => {
    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const body = await new Promise<string>((resolve, reject) => {
      get(`${server.url}/healthz`, { ca }, (res) => {
        let data = '';
        res.on('data', (d: Buffer) => (data += d.toString()));
        res.on('end', () => resolve(data));
      }).on('error', reject);
    });
    expect(JSON.parse(body)).toEqual({ status: 'ok' });
  });

  it('carries the native protocol over WSS', async () => {
    expect(server.wsUrl).toMatch(/^wss:/);
    const client = await TestClient.open(server.wsUrl, await server.token('secure'), { ca });
    expect((await client.ok('room.join', { room: 'tls' })).peer.userId).toBe('secure');
    await client.close();
  });

  it('refuses clients that do not trust the certificate', async () => {
    const error = await TestClient.open(server.wsUrl, await server.token('x')).then(
      () => null,
      (err: Error) => err,
    );
    expect(error?.message).toMatch(/self[- ]signed|certificate/i);
  });
});
