import { describe, expect, it } from 'vitest';
import { MessageGate } from './message-gate.js';

/** A promise the test settles by hand: a cluster round trip a handler waits on. */
function deferred() {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const flush = () => new Promise((r) => setImmediate(r));

/** A gate whose handler logs each message, and holds on those in `waits` until the test settles them. */
function gate(maxQueued = 10) {
  const handled: string[] = [];
  const errors: unknown[] = [];
  const waits = new Map<string, ReturnType<typeof deferred>>();
  let drops = 0;
  const g = new MessageGate<string>({ maxQueued, onDrop: () => drops++, onError: (err) => errors.push(err) });
  const handler = (msg: string) => {
    handled.push(msg);
    if (msg.startsWith('throw')) {
      throw new Error(msg);
    }
    return waits.get(msg)?.promise;
  };
  return {
    handled,
    errors,
    drops: () => drops,
    open: () => g.open(handler),
    push: (...messages: string[]) => messages.forEach((m) => g.push(m)),
    /** `msg`'s handler returns a promise the test settles. */
    hold: (msg: string) => {
      const d = deferred();
      waits.set(msg, d);
      return d;
    },
  };
}

describe('MessageGate', () => {
  it('runs each message at once while handlers return at once (a node without a cluster stays synchronous)', () => {
    const t = gate();
    t.open();
    t.push('a');
    expect(t.handled).toEqual(['a']);
    t.push('b');
    expect(t.handled).toEqual(['a', 'b']);
  });

  it('keeps messages pushed before open() and runs them in order when it opens', () => {
    const t = gate();
    t.push('a', 'b');
    expect(t.handled).toEqual([]);
    t.open();
    expect(t.handled).toEqual(['a', 'b']);
  });

  it('holds the messages after a pending step until it settles, then runs them in order', async () => {
    const t = gate();
    const claim = t.hold('claim');
    t.open();
    t.push('claim', 'b', 'c');
    expect(t.handled).toEqual(['claim']);
    claim.resolve();
    await flush();
    expect(t.handled).toEqual(['claim', 'b', 'c']);
  });

  it('reports a step that fails, and goes on with the next messages', async () => {
    const t = gate();
    const claim = t.hold('claim');
    t.open();
    t.push('claim', 'b');
    claim.reject(new Error('directory away'));
    await flush();
    expect(t.handled).toEqual(['claim', 'b']);
    expect(t.errors).toEqual([new Error('directory away')]);
  });

  it('reports a handler that throws, and runs the next message', () => {
    const t = gate();
    t.open();
    t.push('throw 1', 'b');
    expect(t.handled).toEqual(['throw 1', 'b']);
    expect(t.errors).toEqual([new Error('throw 1')]);
  });

  it('drops messages beyond maxQueued while a step is pending, counting each', async () => {
    const t = gate(2);
    const claim = t.hold('claim');
    t.open();
    t.push('claim');
    t.push('b', 'c', 'd', 'e');
    expect(t.drops()).toBe(2);
    claim.resolve();
    await flush();
    expect(t.handled).toEqual(['claim', 'b', 'c']);
  });

  it('holds again behind a queued message that starts another step', async () => {
    const t = gate();
    const first = t.hold('first');
    const second = t.hold('second');
    t.open();
    t.push('first', 'second', 'after');
    first.resolve();
    await flush();
    expect(t.handled).toEqual(['first', 'second']);
    second.resolve();
    await flush();
    expect(t.handled).toEqual(['first', 'second', 'after']);
  });
});
