import type { InspectRecord } from '../../inspector/records.js';
import { CliError, USAGE_EXIT, optionalString, type Command, type CommandContext } from '../command.js';
import { SERVER_OPTIONS, controlClient } from './console-options.js';

/** Peer ids as the server makes them (`PR_` and 16 url-safe characters). */
const PEER_ID = /^PR_[A-Za-z0-9_-]{16}$/;

function positiveNumber(ctx: CommandContext, option: string): number | undefined {
  const text = optionalString(ctx.args, option);
  if (text === undefined) {
    return undefined;
  }
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) {
    throw new CliError(`--${option} must be a positive number, not ${JSON.stringify(text)}`, USAGE_EXIT);
  }
  return n;
}

/** JSON.stringify gives undefined for an undefined body, whatever its declared type says. */
function json(value: unknown): string {
  const text = JSON.stringify(value) as unknown;
  return typeof text === 'string' ? text : '';
}

/** What the signal is, in a word: the SDP type, `candidate`, or the request's own type. */
function gist(record: InspectRecord): string {
  const text = json(record.body);
  const sdpType = /"type":"(offer|answer|pranswer|rollback)"/.exec(text)?.[1];
  if (sdpType) {
    return sdpType;
  }
  return text.includes('"candidate"') ? 'candidate' : '';
}

/** One record as a line, then its body; an SDP is shown a line per attribute. */
export function formatRecord(record: InspectRecord): string {
  const time = new Date(record.at).toISOString().slice(11, 23);
  const arrow = record.direction === 'in' ? '→' : '←';
  const who = record.kind === 'event' ? `to ${record.peer ?? '?'}` : (record.peer ?? record.user ?? '?');
  const timing = record.ms === undefined ? '' : ` ${record.ms} ms`;
  const outcome = record.error ? ` ${record.error}` : '';
  const dropped = record.dropped ? ` (${record.dropped} dropped before this)` : '';
  const head = `${time} ${record.node} ${arrow} ${record.direction.padEnd(3)} ${record.kind.padEnd(7)} ${record.type} ${record.id === undefined ? '' : `#${record.id} `}${who} ${record.bytes} B${timing}${outcome} ${gist(record)}${dropped}`;
  const body = JSON.stringify(record.body, (key, value: unknown) => (key === 'sdp' ? '<sdp below>' : value));
  const sdp = /"sdp":"((?:[^"\\]|\\.)*)"/.exec(json(record.body))?.[1];
  const sdpLines = sdp
    ? (JSON.parse(`"${sdp}"`) as string)
        .split(/\r?\n/)
        .filter(Boolean)
        .map((line) => `      ${line}`)
    : [];
  return [head.replace(/ +$/, ''), `    ${body}`, ...sdpLines].join('\n');
}

export const inspectCommand: Command = {
  name: 'inspect',
  positionals: ['<room|peer>'],
  summary: 'Watches the signalling of a room or a peer live, on every node (the inspector). Needs a read-write key.',
  details:
    'Capture is on while this runs and off when it stops (Ctrl-C, --count or --seconds). Each message shows\n' +
    'its direction, type, size and timing, and its body with SDP and candidates; tokens, secrets and ICE\n' +
    'passwords never appear. A peer id (PR_…) is watched as a peer, anything else as a room.',
  options: {
    ...SERVER_OPTIONS,
    json: { type: 'boolean', description: 'Print each record as one JSON line' },
    room: { type: 'boolean', description: 'Take the argument as a room id even if it looks like a peer id' },
    count: { type: 'string', value: 'n', description: 'Stop after n records' },
    seconds: { type: 'string', value: 's', description: 'Stop after s seconds' },
  },
  async run(ctx) {
    const [target = ''] = ctx.args.positionals;
    const count = positiveNumber(ctx, 'count');
    const seconds = positiveNumber(ctx, 'seconds');
    const client = controlClient(ctx);
    const asPeer = ctx.args.options.room !== true && PEER_ID.test(target);
    const query = `${asPeer ? 'peer' : 'room'}=${encodeURIComponent(target)}`;
    const stop = new AbortController();
    ctx.signal?.addEventListener('abort', () => stop.abort(), { once: true });
    const timer = seconds === undefined ? undefined : setTimeout(() => stop.abort(), seconds * 1000);
    let seen = 0;
    try {
      await client.stream(
        `/v1/inspect?${query}`,
        ({ event, data }) => {
          if (event === 'started') {
            ctx.io.stderr.write(`Inspecting ${asPeer ? 'peer' : 'room'} ${target}; Ctrl-C to stop.\n`);
          } else if (event === 'record') {
            const record = data as InspectRecord;
            ctx.io.stdout.write(ctx.args.options.json === true ? `${JSON.stringify(record)}\n` : `${formatRecord(record)}\n`);
            if (count !== undefined && ++seen >= count) {
              stop.abort();
            }
          }
        },
        stop.signal,
      );
    } finally {
      clearTimeout(timer);
    }
    if (!stop.signal.aborted) {
      // Not stopped here: the server went away or was drained.
      ctx.io.stderr.write('The server ended the stream.\n');
      return 1;
    }
    return 0;
  },
};
