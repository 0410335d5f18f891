import type { NodeDeadLetter } from '../../webhooks/dead-letter-pages.js';
import { optionalString, printResult, type Command } from '../command.js';
import { JSON_OPTION, SERVER_OPTIONS, controlClient, shortTime } from './console-options.js';

/** A dead letter as the control API lists it, with the node that holds it (the event body is not shown). */
type DeadLetter = Omit<NodeDeadLetter, 'event'>;

export const deadLettersCommand: Command = {
  name: 'webhooks dead-letters',
  summary: 'Lists webhook events that ran out of attempts, on every node, oldest first (up to --limit). Warns of nodes that did not answer.',
  options: {
    ...SERVER_OPTIONS,
    ...JSON_OPTION,
    limit: { type: 'string', value: 'n', description: 'At most this many, 1 to 100 (default 50)' },
  },
  async run(ctx) {
    const limit = typeof ctx.args.options.limit === 'string' ? ctx.args.options.limit : '50';
    const { deadLetters, unreachable } = await controlClient(ctx).get<{ deadLetters: DeadLetter[]; unreachable: string[] }>(
      `/v1/webhooks/dead-letters?limit=${encodeURIComponent(limit)}`,
    );
    if (unreachable.length > 0) {
      ctx.io.stderr.write(`heliograph: no answer from node ${unreachable.join(', ')}: its dead letters are not listed\n`);
    }
    const rows = [
      ['EVENT', 'TYPE', 'ROOM', 'NODE', 'CREATED', 'ATTEMPTS', 'LAST ERROR'],
      ...deadLetters.map((d) => [d.id, d.type, d.room || '-', d.node, shortTime(d.createdAt), String(d.attempts), d.lastError ?? '-']),
    ];
    printResult(ctx, deadLetters, rows, 'No dead letters.');
    return 0;
  },
};

export const redeliverCommand: Command = {
  name: 'webhooks redeliver',
  positionals: ['<event>'],
  summary: "Puts a dead letter back at the head of its room's queue, with fresh attempts, on the node that holds it. Needs a read-write key.",
  options: {
    ...SERVER_OPTIONS,
    node: { type: 'string', value: 'node', description: 'The node that holds it (the NODE column); without it, every node is asked' },
  },
  async run(ctx) {
    const [eventId = ''] = ctx.args.positionals;
    const node = optionalString(ctx.args, 'node');
    const query = node === undefined ? '' : `?node=${encodeURIComponent(node)}`;
    const done = await controlClient(ctx).post<{ node: string }>(`/v1/webhooks/dead-letters/${encodeURIComponent(eventId)}/redeliver${query}`);
    ctx.io.stdout.write(`Queued ${eventId} for redelivery on node ${done.node}\n`);
    return 0;
  },
};

export const WEBHOOKS_COMMANDS: readonly Command[] = [deadLettersCommand, redeliverCommand];
