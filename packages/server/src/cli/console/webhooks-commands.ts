import type { DeadLetter as OutboxDeadLetter } from '../../webhooks/outbox.js';
import type { Command } from '../command.js';
import { JSON_OPTION, SERVER_OPTIONS, controlClient, printResult, shortTime } from './console-options.js';

/** A dead letter as the control API lists it (the event body is not shown). */
type DeadLetter = Omit<OutboxDeadLetter, 'event'>;

export const deadLettersCommand: Command = {
  name: 'webhooks dead-letters',
  positionals: [],
  summary: 'Lists webhook events that ran out of attempts, oldest first (up to --limit).',
  options: {
    ...SERVER_OPTIONS,
    ...JSON_OPTION,
    limit: { type: 'string', value: 'n', description: 'At most this many, 1 to 100 (default 50)' },
  },
  async run(ctx) {
    const limit = typeof ctx.args.options.limit === 'string' ? ctx.args.options.limit : '50';
    const { deadLetters } = await controlClient(ctx).get<{ deadLetters: DeadLetter[] }>(`/v1/webhooks/dead-letters?limit=${encodeURIComponent(limit)}`);
    const rows = [
      ['EVENT', 'TYPE', 'ROOM', 'CREATED', 'ATTEMPTS', 'LAST ERROR'],
      ...deadLetters.map((d) => [d.id, d.type, d.room || '-', shortTime(d.createdAt), String(d.attempts), d.lastError ?? '-']),
    ];
    printResult(ctx, deadLetters, rows, 'No dead letters.');
    return 0;
  },
};

export const redeliverCommand: Command = {
  name: 'webhooks redeliver',
  positionals: ['<event>'],
  summary: "Puts a dead letter back at the head of its room's queue, with fresh attempts. Needs a read-write key.",
  options: { ...SERVER_OPTIONS },
  async run(ctx) {
    const [eventId = ''] = ctx.args.positionals;
    await controlClient(ctx).post(`/v1/webhooks/dead-letters/${encodeURIComponent(eventId)}/redeliver`);
    ctx.io.stdout.write(`Queued ${eventId} for redelivery\n`);
    return 0;
  },
};

export const WEBHOOKS_COMMANDS: readonly Command[] = [deadLettersCommand, redeliverCommand];
