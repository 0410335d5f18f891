import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { mintJoinToken } from '../../../../examples/business-backend.js';
import { HOOK_SECRET, TestBackend } from '../helpers/business-backend.js';
import { TestClient } from '../helpers/client.js';
import { TEST_SECRET } from '../helpers/server.js';
import { until } from '../helpers/wait.js';

const BIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

interface Node {
  child: ChildProcess;
  url: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts the built `heliograph` CLI as a real process and waits for it to listen. */
async function startNode(dataDir: string, webhookUrl: string): Promise<Node> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('HELIOGRAPH_')));
  const child = spawn(
    process.execPath,
    [
      BIN,
      'serve',
      '--port',
      '0',
      '--data-dir',
      dataDir,
      '--webhooks.url',
      webhookUrl,
      '--webhooks.initial-backoff-ms',
      '50',
      '--webhooks.max-backoff-ms',
      '200',
    ],
    { env: { ...env, HELIOGRAPH_AUTH_JWT_SECRET: TEST_SECRET, HELIOGRAPH_WEBHOOKS_SECRET: HOOK_SECRET, HELIOGRAPH_DEMO_ENABLED: 'false' } },
  );
  let out = '';
  child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  await until(() => /serving on (\S+)"/.test(out) || child.exitCode !== null, 15_000, 'the node to listen');
  const url = /serving on (\S+)"/.exec(out)?.[1];
  if (!url) {
    throw new Error(`the node did not start:\n${out}`);
  }
  return { child, url, exited };
}

let dir: string;
const nodes: Node[] = [];
let backend: TestBackend | undefined;
afterEach(async () => {
  for (const node of nodes.splice(0)) {
    if (node.child.exitCode === null && node.child.signalCode === null) {
      node.child.kill('SIGKILL');
      await node.exited;
    }
  }
  await backend?.stop().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

describe('webhooks across a crash', () => {
  it('a node killed with events pending delivers all of them after it restarts, in order, then closes what the crash left open', async () => {
    dir = mkdtempSync(join(tmpdir(), 'heliograph-crash-'));
    backend = await new TestBackend({ jwtSecret: TEST_SECRET }).reservePort();
    const first = await startNode(join(dir, 'data'), backend.webhookUrl);
    nodes.push(first);
    const wsUrl = `${first.url.replace(/^http/, 'ws')}/ws`;
    const ada = await TestClient.open(wsUrl, await mintJoinToken(TEST_SECRET, 'ada', 'crash'));
    const bob = await TestClient.open(wsUrl, await mintJoinToken(TEST_SECRET, 'bob', 'crash'));
    await ada.ok('room.join', { room: 'crash' });
    await bob.ok('room.join', { room: 'crash' });
    await bob.ok('room.leave', {});
    // Every action above was acknowledged; the backend has been down throughout. Kill -9.
    first.child.kill('SIGKILL');
    expect(await first.exited).toEqual({ code: null, signal: 'SIGKILL' });
    await Promise.all([ada.closed, bob.closed]);
    expect(backend.events).toEqual([]);

    await backend.start();
    const second = await startNode(join(dir, 'data'), backend.webhookUrl);
    nodes.push(second);
    await until(() => backend!.events.length >= 6, 10_000, 'the events recorded before the crash, and the closing ones');
    expect(backend.events.map((e) => `${e.seq} ${e.type} ${(e.data.peer as { userId?: string } | undefined)?.userId ?? ''}`.trim())).toEqual([
      '1 room.started',
      '2 peer.joined ada',
      '3 peer.joined bob',
      '4 peer.left bob',
      // The crash took the room with it: the restarted node says so, and the backend's view is right again.
      '5 peer.left ada',
      '6 room.finished',
    ]);
    expect(backend.events[4]?.data.reason).toBe('node_lost');
    expect(backend.events[5]?.data).toMatchObject({ reason: 'node_lost', room: { id: 'crash' } });
    second.child.kill('SIGTERM');
    expect((await second.exited).code).toBe(0);
  });
});
