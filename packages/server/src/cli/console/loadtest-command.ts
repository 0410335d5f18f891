import { randomBytes } from 'node:crypto';
import { LOADTEST_LIMITS, checkLoadOptions, runLoad, type LoadReport } from '../../loadtest/load-run.js';
import { CliError, USAGE_EXIT, optionalString, table, type Command, type CommandContext } from '../command.js';
import { JSON_OPTION, SERVER_OPTIONS, controlClient } from './console-options.js';

function numberOption(ctx: CommandContext, name: string, fallback: number): number {
  const text = optionalString(ctx.args, name);
  if (text === undefined) {
    return fallback;
  }
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n)) {
    throw new CliError(`--${name} must be a number, not ${JSON.stringify(text)}`, USAGE_EXIT);
  }
  return n;
}

function render(r: LoadReport): string {
  const errors = Object.entries(r.errors);
  const rows = [
    ['peers joined', `${r.peers.joined} of ${r.peers.wanted} (${r.rooms} rooms × ${r.peersPerRoom})`],
    ['join ms', `p50 ${r.joinMs.p50}  p99 ${r.joinMs.p99}  max ${r.joinMs.max}`],
    [
      'signals',
      `${r.signals.sent} sent in ${r.seconds} s (offered ${r.signals.offeredRate}/s), ${r.signals.delivered} delivered, ${r.signals.acked} acked, ${r.signals.failed} failed`,
    ],
    ['relay ms', `p50 ${r.relayMs.p50}  p99 ${r.relayMs.p99}  p99.9 ${r.relayMs.p999}  max ${r.relayMs.max}`],
    ['errors', errors.length === 0 ? 'none' : errors.map(([code, n]) => `${code} ${n}`).join(', ')],
  ];
  return `${table(rows, '')}\n`;
}

export const loadtestCommand: Command = {
  name: 'loadtest',
  summary: 'Joins synthetic peers to a running server and reports join and relay latency percentiles and errors.',
  details:
    'Tokens come from the control API (a read-write key); rooms are loadtest-<run>-<n>. Each peer signals the\n' +
    `next one of its room, candidate-sized signals at --rate per second in all, for --seconds. Bounded: at most\n` +
    `${LOADTEST_LIMITS.maxPeers} peers, ${LOADTEST_LIMITS.maxRate} signals/s and ${LOADTEST_LIMITS.maxSeconds} s. Exit 1 when any join or signal failed.`,
  options: {
    ...SERVER_OPTIONS,
    ...JSON_OPTION,
    rooms: { type: 'string', value: 'n', description: 'Rooms to fill (default 10)' },
    'peers-per-room': { type: 'string', value: 'm', description: 'Peers in each room, 2 or more (default 2)' },
    rate: { type: 'string', value: 'r', description: 'Signals per second over all the peers (default 100)' },
    seconds: { type: 'string', value: 's', description: 'How long to send once joined (default 10)' },
  },
  async run(ctx) {
    const options = {
      rooms: numberOption(ctx, 'rooms', 10),
      peersPerRoom: numberOption(ctx, 'peers-per-room', 2),
      rate: numberOption(ctx, 'rate', 100),
      seconds: numberOption(ctx, 'seconds', 10),
    };
    const wrong = checkLoadOptions(options);
    if (wrong) {
      throw new CliError(wrong, USAGE_EXIT);
    }
    const client = controlClient(ctx);
    const prefix = `loadtest-${randomBytes(3).toString('hex')}`;
    const report = await runLoad({
      ...options,
      prefix,
      wsUrl: `${client.base.replace(/^http/, 'ws')}/ws`,
      mint: async (userId, room) => (await client.post<{ token: string }>('/v1/tokens', { userId, room })).token,
      signal: ctx.signal,
      progress: (line) => ctx.io.stderr.write(`${line}\n`),
    });
    ctx.io.stdout.write(ctx.args.options.json === true ? `${JSON.stringify(report, null, 2)}\n` : render(report));
    const failed = report.peers.joined < report.peers.wanted || report.signals.failed > 0;
    return failed ? 1 : 0;
  },
};
