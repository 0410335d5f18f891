import { describe, expect, it } from 'vitest';
import { FakeClock } from '@heliograph/common';
import type { HandlerMap, Session } from '../handlers/index.js';
import { AppError } from '../shared/app-error.js';
import { ErrorReporter } from '../shared/error-reporter.js';
import { createLogger } from '../shared/logger.js';
import { Dispatcher } from './dispatcher.js';

function dispatcherWith(ping: HandlerMap['ping'], clock = new FakeClock()) {
  const handlers = { ping } as unknown as HandlerMap;
  return new Dispatcher({ handlers, clock, errors: new ErrorReporter({ logger: createLogger('silent'), clock }), requestTimeoutMs: 1000 });
}

const session = {} as Session;

describe('Dispatcher', () => {
  it('answers a sync result, an AppError, and an unexpected error as INTERNAL', () => {
    const replies: unknown[] = [];
    const reply = (f: string) => replies.push(JSON.parse(f));
    dispatcherWith(() => ({ serverTime: 5 })).dispatch(session, { id: 1, type: 'ping', data: {} }, reply);
    dispatcherWith(() => {
      throw new AppError('ROOM_FULL', 'full');
    }).dispatch(session, { id: 2, type: 'ping', data: {} }, reply);
    dispatcherWith(() => {
      throw new Error('boom');
    }).dispatch(session, { id: 3, type: 'ping', data: {} }, reply);
    expect(replies).toEqual([
      { id: 1, ok: true, data: { serverTime: 5 } },
      { id: 2, ok: false, error: { code: 'ROOM_FULL', message: 'full' } },
      { id: 3, ok: false, error: { code: 'INTERNAL', message: 'Internal server error' } },
    ]);
  });

  it('answers an async handler once: its result, or TIMEOUT when it is too slow (fake clock)', async () => {
    const clock = new FakeClock();
    const replies: unknown[] = [];
    const reply = (f: string) => replies.push(JSON.parse(f));
    let finish: (v: { serverTime: number }) => void = () => undefined;
    const slow = dispatcherWith(() => new Promise((resolve) => (finish = resolve)), clock);
    slow.dispatch(session, { id: 'slow', type: 'ping', data: {} }, reply);
    clock.advance(999);
    expect(replies).toEqual([]);
    clock.advance(1);
    expect(replies).toEqual([{ id: 'slow', ok: false, error: { code: 'TIMEOUT', message: '"ping" took longer than 1000 ms' } }]);
    finish({ serverTime: 1 });
    await Promise.resolve();
    expect(replies).toHaveLength(1);

    const fast = dispatcherWith(async () => ({ serverTime: 2 }), clock);
    fast.dispatch(session, { id: 'fast', type: 'ping', data: {} }, reply);
    await new Promise((r) => setImmediate(r));
    expect(replies[1]).toEqual({ id: 'fast', ok: true, data: { serverTime: 2 } });
    expect(clock.pending).toBe(0);
  });

  it('answers INTERNAL when a result will not serialise, sync or async, and nothing escapes', async () => {
    const replies: unknown[] = [];
    const reply = (f: string) => replies.push(JSON.parse(f));
    const unserialisable = { serverTime: 1n } as unknown as { serverTime: number };
    dispatcherWith(() => unserialisable).dispatch(session, { id: 1, type: 'ping', data: {} }, reply);
    dispatcherWith(async () => unserialisable).dispatch(session, { id: 2, type: 'ping', data: {} }, reply);
    await new Promise((r) => setImmediate(r));
    expect(replies).toEqual([
      { id: 1, ok: false, error: { code: 'INTERNAL', message: 'Internal server error' } },
      { id: 2, ok: false, error: { code: 'INTERNAL', message: 'Internal server error' } },
    ]);
  });

  it('reports a connection that throws while taking the answer instead of letting it escape', async () => {
    const throwing = () => {
      throw new Error('socket gone');
    };
    expect(() => dispatcherWith(() => ({ serverTime: 1 })).dispatch(session, { id: 1, type: 'ping', data: {} }, throwing)).not.toThrow();
    // Async: a throw inside the promise callbacks would be an unhandled rejection, which fails the run.
    dispatcherWith(async () => ({ serverTime: 1 })).dispatch(session, { id: 2, type: 'ping', data: {} }, throwing);
    await new Promise((r) => setImmediate(r));
  });
});
