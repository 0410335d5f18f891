import { afterEach, describe, expect, it } from 'vitest';
import { runCliCaptured, type CliRun } from '../helpers/run-cli.js';
import type { LoadReport } from '../../src/loadtest/load-run.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { untilEvent } from '../helpers/wait.js';

/** `heliograph loadtest` against a live server, with a small bounded load. */
const KEY = 'loadtest-key-0123456789-abcdefghijkl';
let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

function loadtest(s: TestServer, args: string[]): Promise<CliRun> {
  return runCliCaptured(['loadtest', '--url', s.url, '--api-key', KEY, ...args], s.config.dataDir);
}

const keys = { controlApi: { keys: [{ id: 'load', key: KEY, scope: 'read-write' as const }] } };

describe('heliograph loadtest', () => {
  it('joins the peers, relays at the rate and reports percentiles, as JSON and as a table', async () => {
    server = await startServer(keys);
    const run = await loadtest(server, ['--rooms', '3', '--peers-per-room', '3', '--rate', '60', '--seconds', '1', '--json']);
    expect(run.stderr).toMatch(/^joined 9 of 9 peers in 3 rooms; sending 60 signals\/s for 1 s\n$/);
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as LoadReport;
    expect(report.peers).toEqual({ wanted: 9, joined: 9 });
    expect(report.joinMs.count).toBe(9);
    expect(report.joinMs.p99).toBeGreaterThan(0);
    // Bounded by the rate and the time: about 60 signals, each delivered and acked.
    expect(report.signals.sent).toBeGreaterThan(20);
    expect(report.signals.sent).toBeLessThanOrEqual(70);
    expect(report.signals.delivered).toBe(report.signals.sent);
    expect(report.signals.acked).toBe(report.signals.sent);
    expect(report.relayMs.count).toBe(report.signals.sent);
    expect(report.relayMs.p99).toBeGreaterThan(0);
    expect(report.errors).toEqual({});
    // Everyone left at the end.
    const s = server;
    const left = (listener: () => void) => s.app.rooms.events.on('peer.left', listener);
    await untilEvent(left, () => s.app.rooms.list().every((room) => room.size === 0), 5000, 'the peers to leave');

    const table = await loadtest(server, ['--rooms', '1', '--peers-per-room', '2', '--rate', '20', '--seconds', '0.5']);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(
      /^peers joined +2 of 2 \(1 rooms × 2\)\njoin ms +p50 [\d.]+ +p99 [\d.]+ +max [\d.]+\nsignals +\d+ sent in [\d.]+ s \(offered 20\/s\), \d+ delivered, \d+ acked, 0 failed\nrelay ms +p50 .*\nerrors +none\n$/,
    );
  });

  it('reports refused joins by error code and exits 1', async () => {
    server = await startServer({ ...keys, rooms: { maxPeers: 2 } });
    const run = await loadtest(server, ['--rooms', '2', '--peers-per-room', '3', '--rate', '10', '--seconds', '0.3', '--json']);
    expect(run.code).toBe(1);
    const report = JSON.parse(run.stdout) as LoadReport;
    expect(report.peers).toEqual({ wanted: 6, joined: 4 });
    expect(report.errors).toEqual({ ROOM_FULL: 2 });
  });

  it('refuses loads past its bounds and a read key', async () => {
    server = await startServer({ controlApi: { keys: [{ id: 'load', key: KEY, scope: 'read' as const }] } });
    expect(await loadtest(server, ['--rooms', '100', '--peers-per-room', '100'])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('--rooms × --peers-per-room must be at most 5000'),
    });
    expect(await loadtest(server, ['--seconds', '601'])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('--seconds must be more than 0 and at most 600'),
    });
    expect(await loadtest(server, ['--rate', 'fast'])).toMatchObject({ code: 2, stderr: expect.stringContaining('--rate must be a number') });
    const refused = await loadtest(server, ['--rooms', '1', '--seconds', '0.1', '--json']);
    expect(refused.code).toBe(1);
    expect((JSON.parse(refused.stdout) as LoadReport).errors).toEqual({ TOKEN: 2 });
  });
});
