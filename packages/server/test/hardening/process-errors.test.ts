import { afterEach, describe, expect, it } from 'vitest';
import { startNode, type NodeProcess } from '../helpers/node-process.js';
import { until } from '../helpers/wait.js';

/**
 * The last line of defence: an exception or a rejection that escapes every handler is logged and
 * counted, and the node goes on serving. The bug is planted by a preload that throws when the
 * process gets SIGUSR2, since no code path of the server itself may do it.
 */
const PLANT = [
  "process.on('SIGUSR2', () => {",
  "  setImmediate(() => { throw new Error('escaped on purpose'); });",
  "  void Promise.reject(new Error('rejected on purpose'));",
  '});',
].join('\n');

let node: NodeProcess | undefined;
afterEach(async () => {
  await node?.stop().catch(() => undefined);
});

describe('errors that escape every handler', () => {
  it('are logged and counted, the node keeps serving, and the test helper fails the test that caused them', async () => {
    node = await startNode([], 15_000, { nodeArgs: ['--import', `data:text/javascript,${encodeURIComponent(PLANT)}`] });
    for (let i = 0; i < 3; i++) {
      node.signal('SIGUSR2');
      await new Promise((r) => setTimeout(r, 50));
    }
    await until(() => node!.output().includes('"msg":"unexpected error in unhandledRejection"'), 5_000, 'the rejection to be logged');
    await until(() => node!.output().includes('"msg":"unexpected error in uncaughtException"'), 5_000, 'the exception to be logged');
    expect((await fetch(`${node.url}/healthz`)).status).toBe(200);
    const metrics = await (await fetch(`${node.url}/metrics`)).text();
    expect(metrics).toContain('heliograph_internal_errors_total{where="uncaughtException"} 3');
    expect(metrics).toContain('heliograph_internal_errors_total{where="unhandledRejection"} 3');
    // Logged once per window, with the stack; the repeats are counted, not logged.
    const lines = node
      .output()
      .split('\n')
      .filter((l) => l.includes('"msg":"unexpected error in uncaughtException"'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('escaped on purpose');
    await expect(node.stop()).rejects.toThrow(/escaped error/);
    node = undefined;
  });
});
