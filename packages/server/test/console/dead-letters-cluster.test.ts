import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisClusterNode, type ClusterNode } from '../../src/cluster/cluster-node.js';
import { systemClock } from '@heliograph/common';
import { createLogger } from '../../src/shared/logger.js';
import { HOOK_SECRET, TestBackend } from '../helpers/business-backend.js';
import { TestClient } from '../helpers/client.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { haveTool } from '../helpers/require-tool.js';
import { runCliCaptured } from '../helpers/run-cli.js';
import { startServer, TEST_SECRET, type TestServer } from '../helpers/server.js';
import { eventually, until } from '../helpers/wait.js';

/**
 * Webhook dead letters in a two-node cluster over a real redis-server: a dead letter made on
 * node A is listed from node B with `node` = A, and redelivered from B by A; an unknown id is
 * NOT_FOUND; a node that does not answer is named in `unreachable` while the others are listed.
 */
const KEY = 'dead-letters-cluster-key-0123456789-abcdef';
const hasRedis = haveTool('redis-server', 'redis-server');
let redis: TestRedis;
let backend: TestBackend;
let a: TestServer;
let b: TestServer;
let client: TestClient | undefined;
/** Node B's log lines at info (the audit lines among them). */
const logLines: Array<Record<string, unknown>> = [];
const sink = new Writable({
  write(chunk: Buffer, _enc, done) {
    for (const line of chunk.toString().split('\n').filter(Boolean)) {
      logLines.push(JSON.parse(line) as Record<string, unknown>);
    }
    done();
  },
});

interface Listed {
  deadLetters: Array<{ id: string; type: string; node: string; attempts: number }>;
  nextCursor?: string;
  unreachable: string[];
}

async function call(server: TestServer, method: string, path: string): Promise<{ status: number; body: Record<string, unknown> | undefined }> {
  const res = await fetch(`${server.url}${path}`, { method, headers: { authorization: `Bearer ${KEY}` } });
  return { status: res.status, body: res.status === 204 ? undefined : ((await res.json()) as Record<string, unknown>) };
}

async function list(server: TestServer, query = ''): Promise<Listed> {
  const res = await fetch(`${server.url}/v1/webhooks/dead-letters${query}`, { headers: { authorization: `Bearer ${KEY}` } });
  expect(res.status).toBe(200);
  return (await res.json()) as Listed;
}

function nodeIdOf(server: TestServer): string {
  return server.app.cluster?.nodeId ?? '';
}

function cli(args: string[], server: TestServer) {
  return runCliCaptured([...args, '--url', server.url, '--api-key', KEY], server.config.dataDir);
}

describe.skipIf(!hasRedis)('webhook dead letters in a cluster', () => {
  beforeAll(async () => {
    redis = await startRedis();
    // Webhooks to a port nobody answers yet: every event becomes a dead letter after two attempts.
    backend = await new TestBackend({ jwtSecret: TEST_SECRET }).reservePort();
    const settings = {
      redis: { url: redis.url },
      cluster: { requestTimeoutMs: 1000 },
      controlApi: { keys: [{ id: 'ops', key: KEY, scope: 'read-write' as const }] },
      webhooks: { url: backend.webhookUrl, secret: HOOK_SECRET, initialBackoffMs: 10, maxBackoffMs: 20, maxAttempts: 2 },
    };
    a = await startServer(settings);
    b = await startServer(settings, { logger: createLogger('info', sink) });
    await eventually(() => (b.app.cluster?.bus.nodes().length ?? 0) === 2, 10_000, 'B sees both nodes');
    // Two events of a room on A (room.started, peer.joined): two dead letters in A's outbox.
    client = await TestClient.open(a.wsUrl, await a.token('ada'));
    await client.ok('room.join', { room: 'hooks' });
    await eventually(() => a.app.webhooks?.counts().dead === 2, 10_000, "A's dead letters");
  });
  afterAll(async () => {
    await client?.close();
    await Promise.all([a?.close(), b?.close()]);
    await backend?.stop().catch(() => undefined);
    await redis?.stop();
  });

  it("lists node A's dead letters from node B, each with node = A, and pages across nodes", async () => {
    const seen = await list(b);
    expect(seen.unreachable).toEqual([]);
    expect(seen.deadLetters.map((d) => [d.type, d.node, d.attempts])).toEqual([
      ['room.started', nodeIdOf(a), 2],
      ['peer.joined', nodeIdOf(a), 2],
    ]);
    const first = await list(b, '?limit=1');
    expect(first.deadLetters.map((d) => d.type)).toEqual(['room.started']);
    const second = await list(b, `?limit=1&cursor=${encodeURIComponent(first.nextCursor ?? '')}`);
    expect(second.deadLetters.map((d) => d.type)).toEqual(['peer.joined']);
    expect(second.nextCursor).toBeUndefined();
    expect((await call(b, 'GET', '/v1/webhooks/dead-letters?cursor=12')).status).toBe(400);
  });

  it('the CLI on node B shows the NODE column and the node in --json', async () => {
    const table = await cli(['webhooks', 'dead-letters'], b);
    expect(table).toMatchObject({ code: 0, stderr: '' });
    const [header, row] = table.stdout.split('\n');
    expect(header).toMatch(/^EVENT +TYPE +ROOM +NODE +CREATED +ATTEMPTS +LAST ERROR$/);
    expect(row?.split(/ +/).slice(1, 4)).toEqual(['room.started', 'hooks', nodeIdOf(a)]);
    const json = JSON.parse((await cli(['webhooks', 'dead-letters', '--json'], b)).stdout) as Array<{ node: string }>;
    expect(json.map((d) => d.node)).toEqual([nodeIdOf(a), nodeIdOf(a)]);
  });

  describe('with a third node that never answers', () => {
    let silent: ClusterNode;
    beforeAll(async () => {
      silent = createRedisClusterNode({
        nodeId: 'ND_silent',
        redis: { url: redis.url, prefix: b.config.redis.prefix, commandTimeoutMs: b.config.redis.commandTimeoutMs },
        timing: b.config.cluster,
        clock: systemClock,
        logger: createLogger('silent'),
      });
      // Alive by its heartbeats, but its answers about dead letters never come.
      silent.handleModule('webhooks.dead-letters', () => new Promise(() => undefined));
      await silent.start();
      await eventually(() => b.app.cluster?.bus.nodes().includes('ND_silent') === true, 10_000, 'B sees the silent node');
    });
    afterAll(async () => {
      await silent?.close();
    });

    it('lists the others, and names the node that did not answer', async () => {
      const seen = await list(b);
      expect(seen.unreachable).toEqual(['ND_silent']);
      expect(seen.deadLetters.map((d) => d.node)).toEqual([nodeIdOf(a), nodeIdOf(a)]);
      const run = await cli(['webhooks', 'dead-letters', '--json'], b);
      expect(run.code).toBe(0);
      expect(run.stderr).toBe('heliograph: no answer from node ND_silent: its dead letters are not listed\n');
      expect(JSON.parse(run.stdout)).toHaveLength(2);
    });

    it('an id no answering node holds is UNAVAILABLE, since the silent one may hold it', async () => {
      const res = await call(b, 'POST', '/v1/webhooks/dead-letters/EV_unknown/redeliver');
      expect(res.status).toBe(503);
      expect(res.body).toMatchObject({ error: { code: 'UNAVAILABLE' } });
      expect(String((res.body?.error as { message: string }).message)).toContain('ND_silent');
    });
  });

  it('redelivers from node B a dead letter that A holds; A delivers it to the endpoint, now working', async () => {
    await eventually(() => b.app.cluster?.bus.nodes().includes('ND_silent') === false, 15_000, 'the silent node gone');
    const [first, second] = (await list(b)).deadLetters;
    await backend.start();
    const redelivered = await call(b, 'POST', `/v1/webhooks/dead-letters/${first?.id}/redeliver`);
    expect(redelivered).toEqual({ status: 202, body: { id: first?.id, node: nodeIdOf(a) } });
    // The node that was called writes the audit line, as for every change.
    await eventually(() => logLines.some((l) => l.audit === true && l.status === 202), 5000, 'the audit line');
    expect(logLines.find((l) => l.audit === true && l.status === 202)).toMatchObject({
      apiKey: 'ops',
      method: 'POST',
      route: '/v1/webhooks/dead-letters/:eventId/redeliver',
      params: { eventId: first?.id },
    });
    await until(() => backend.events.some((e) => e.id === first?.id), 10_000, 'the redelivery');
    expect(backend.events.find((e) => e.id === first?.id)).toMatchObject({ type: 'room.started', room: 'hooks' });
    // Named by its node, as the dashboard does; through the CLI.
    const run = await cli(['webhooks', 'redeliver', second?.id ?? '', '--node', nodeIdOf(a)], b);
    expect(run).toMatchObject({ code: 0, stdout: `Queued ${second?.id} for redelivery on node ${nodeIdOf(a)}\n` });
    await until(() => backend.events.some((e) => e.id === second?.id), 10_000, 'the second redelivery');
    // A marks it delivered once the backend's answer is in.
    await eventually(() => a.app.webhooks?.counts().pending === 0, 10_000, 'A done delivering');
    expect(a.app.webhooks?.counts()).toEqual({ pending: 0, dead: 0 });
    expect((await list(b)).deadLetters).toEqual([]);
  });

  it('redeliver of an unknown id is NOT_FOUND, once; a node not in the cluster is UNAVAILABLE', async () => {
    expect(await call(b, 'POST', '/v1/webhooks/dead-letters/EV_unknown/redeliver')).toEqual({
      status: 404,
      body: { error: { code: 'NOT_FOUND', message: 'No dead letter "EV_unknown"' } },
    });
    expect(await cli(['webhooks', 'redeliver', 'EV_unknown'], b)).toMatchObject({ code: 1, stderr: 'heliograph: NOT_FOUND: No dead letter "EV_unknown"\n' });
    const elsewhere = await call(b, 'POST', `/v1/webhooks/dead-letters/EV_unknown/redeliver?node=ND_nowhere`);
    expect(elsewhere).toMatchObject({ status: 503, body: { error: { code: 'UNAVAILABLE' } } });
    expect((await call(b, 'DELETE', `/v1/webhooks/dead-letters/EV_unknown?node=${nodeIdOf(a)}`)).status).toBe(404);
  });
});
