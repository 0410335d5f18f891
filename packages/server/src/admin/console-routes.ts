import type { FastifyInstance } from 'fastify';
import Type, { type Static } from 'typebox';
import { requireWriteScope } from '../control-api/api-keys.js';
import { ERROR_RESPONSES, ErrorResponse } from '../control-api/schemas.js';
import type { InspectTarget } from '../inspector/records.js';
import { AppError } from '../shared/app-error.js';
import type { Clock } from '@heliograph/common';
import type { Inspector } from '../inspector/inspector.js';
import { Overview } from './overview.js';
import { openSse, type SseStream } from './sse.js';
import { History, type StatsHistory } from './stats-history.js';

const tags = ['console'];
const StreamQuery = Type.Object(
  { intervalMs: Type.Optional(Type.Integer({ minimum: 500, maximum: 60_000, default: 1000, description: 'How often a figure is sent' })) },
  { additionalProperties: false },
);
const InspectQuery = Type.Object(
  {
    room: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'Watch every peer of this room' })),
    peer: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'Watch this peer' })),
  },
  { additionalProperties: false },
);
const eventStream = { 200: Type.String({ description: 'text/event-stream' }) };
/** Open figure streams per node: each costs a cluster-wide poll a second. */
export const MAX_CONSOLE_STREAMS = 32;

/** What the console's routes need of the operator console (`OperatorConsole`). */
export interface ConsoleRoutesDeps {
  overview(): Promise<Overview>;
  readonly history: Pick<StatsHistory, 'all'>;
  /** The open event streams, ended by the console's close(). */
  readonly streams: Set<SseStream>;
  readonly inspector: Inspector;
  readonly clock: Clock;
}

/** `/v1/console/overview`, `/v1/console/stream` (figures every second) and `/v1/inspect` (the inspector). */
export function registerConsoleRoutes(api: FastifyInstance, operator: ConsoleRoutesDeps): void {
  api.get(
    '/console/overview',
    { schema: { tags, summary: 'The figures of this node, or of every node of the cluster', response: { 200: Overview, ...ERROR_RESPONSES } } },
    () => operator.overview(),
  );

  api.get(
    '/console/history',
    {
      schema: {
        tags,
        summary: "Every node's figures of the last five minutes, one sample every two seconds (for charts that start full)",
        response: { 200: History, ...ERROR_RESPONSES },
      },
    },
    () => operator.history.all(),
  );

  api.get<{ Querystring: Static<typeof StreamQuery> }>(
    '/console/stream',
    {
      schema: {
        tags,
        summary: 'The overview as Server-Sent Events (`event: overview`), one every intervalMs',
        description: 'A node serves at most 32 such streams and inspector streams together; more are refused with 503 UNAVAILABLE.',
        querystring: StreamQuery,
        response: { ...eventStream, 503: ErrorResponse, ...ERROR_RESPONSES },
      },
    },
    (request, reply) => {
      const { clock } = operator;
      if (operator.streams.size >= MAX_CONSOLE_STREAMS) {
        throw new AppError('UNAVAILABLE', `This node already serves ${MAX_CONSOLE_STREAMS} console streams; close one first`);
      }
      let timer: ReturnType<typeof clock.setInterval> | undefined;
      const stream = openSse(reply, clock, () => {
        clock.clearInterval(timer);
        operator.streams.delete(stream);
      });
      operator.streams.add(stream);
      const push = (): void => {
        operator.overview().then(
          (overview) => stream.send('overview', overview),
          (err: unknown) => stream.send('failure', { message: err instanceof Error ? err.message : String(err) }),
        );
      };
      push();
      timer = clock.setInterval(push, request.query.intervalMs ?? 1000);
    },
  );

  api.get<{ Querystring: Static<typeof InspectQuery> }>(
    '/inspect',
    {
      schema: {
        tags,
        summary: 'Turn on the signalling inspector for a room or a peer, on every node, and stream its records (`event: record`) while connected',
        description:
          'Needs a read-write key. Records carry type, direction, size and timing, and the body with SDP and candidates; tokens, secrets and ICE passwords are redacted. ' +
          'Capture stops when the stream closes; a node runs at most 8 captures and emits at most 200 records per second each (the rest counted in `dropped`).',
        querystring: InspectQuery,
        response: { ...eventStream, 503: ErrorResponse, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const caller = requireWriteScope(request, 'The inspector');
      const target = inspectTarget(request.query);
      let stream: SseStream | undefined;
      const watch = await operator.inspector.watch(target, (record) => stream?.send('record', record));
      request.log.info({ audit: true, apiKey: caller.keyId, action: 'inspect', target, capture: watch.id }, 'inspector capture started');
      stream = openSse(reply, operator.clock, () => {
        if (stream) {
          operator.streams.delete(stream);
        }
        request.log.info({ audit: true, apiKey: caller.keyId, action: 'inspect.stop', capture: watch.id }, 'inspector capture stopped');
        void watch.close();
      });
      operator.streams.add(stream);
      stream.send('started', { capture: watch.id, target });
    },
  );
}

function inspectTarget(query: Static<typeof InspectQuery>): InspectTarget {
  if ((query.room === undefined) === (query.peer === undefined)) {
    throw new AppError('BAD_REQUEST', 'Name one room (?room=) or one peer (?peer=) to inspect');
  }
  return query.room !== undefined ? { room: query.room } : { peer: query.peer ?? '' };
}
