import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { get } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestClient } from './helpers/client.js';
import { haveTool } from './helpers/require-tool.js';
import { startServer, type TestServer } from './helpers/server.js';

const hasOpenssl = haveTool('openssl', 'openssl');

describe.runIf(hasOpenssl)('TLS: one port serves HTTPS and WSS', () => {
  let dir: string;
  let server: TestServer;
  let ca: Buffer;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'heliograph-tls-'));
    const cert = join(dir, 'cert.pem');
    const key = join(dir, 'key.pem');
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '-keyout', key, '-out', cert,
    ], { stdio: 'ignore' });
    ca = readFileSync(cert);
    server = await startServer({ tls: { cert, key } });
  });

  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
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
