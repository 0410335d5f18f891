import { describe, expect, it } from 'vitest';
import { Emitter, EventHub, type PayloadEvents } from './emitter.js';

type Events = {
  state: [string, { code?: number }?];
  tick: [number];
  ended: [];
};

function hub(errors: unknown[][] = []) {
  return new EventHub<Events>((err, event, args) => errors.push([err, event, args]));
}

describe('Emitter', () => {
  it('calls the listeners of an event with its arguments, in the order they subscribed, until unsubscribed', () => {
    const events = hub();
    const heard: string[] = [];
    const off = events.on('state', (state, detail) => heard.push(`a:${state}:${detail?.code}`));
    events.on('state', (state) => heard.push(`b:${state}`));
    events.on('ended', () => heard.push('ended'));
    events.emit('state', 'open');
    events.emit('state', 'closed', { code: 4000 });
    events.emit('ended');
    off();
    off(); // idempotent
    events.emit('state', 'open');
    expect(heard).toEqual(['a:open:undefined', 'b:open', 'a:closed:4000', 'b:closed', 'ended', 'b:open']);
  });

  it('reports a throwing listener with its event and goes on with the others', () => {
    const errors: unknown[][] = [];
    const events = hub(errors);
    const boom = new Error('boom');
    const heard: number[] = [];
    events.on('tick', () => {
      throw boom;
    });
    events.on('tick', (n) => heard.push(n));
    expect(() => events.emit('tick', 1)).not.toThrow();
    expect(heard).toEqual([1]);
    expect(errors).toEqual([[boom, 'tick', [1, undefined]]]);
  });

  it('survives a reporter that throws too', () => {
    const events = new EventHub<Events>(() => {
      throw new Error('reporter');
    });
    const heard: number[] = [];
    events.on('tick', () => {
      throw new Error('listener');
    });
    events.on('tick', (n) => heard.push(n));
    expect(() => events.emit('tick', 1)).not.toThrow();
    expect(heard).toEqual([1]);
  });

  it('calls a once listener for the next event only, even when that event is emitted again from a listener', () => {
    const events = hub();
    const heard: number[] = [];
    events.on('tick', (n) => {
      if (n === 1) {
        events.emit('tick', 2); // re-entrant, before the once listener's turn in this emit
      }
    });
    events.once('tick', (n) => heard.push(n));
    events.emit('tick', 1);
    events.emit('tick', 3);
    expect(heard).toEqual([2]);
    expect(events.listenerCount('tick')).toBe(1);
  });

  it('unsubscribes a once listener by the listener itself or by the function once returned', () => {
    const events = hub();
    const heard: number[] = [];
    const listener = (n: number) => heard.push(n);
    events.once('tick', listener);
    events.off('tick', listener);
    events.once('tick', listener)();
    events.emit('tick', 1);
    expect(heard).toEqual([]);
    expect(events.eventNames()).toEqual([]);
  });

  it('walks a snapshot: a listener added during an emit hears the next one, one removed still hears this one', () => {
    const events = hub();
    const heard: string[] = [];
    const late = () => heard.push('late');
    const removed = () => heard.push('removed');
    events.on('ended', () => {
      events.on('ended', late);
      events.off('ended', removed);
    });
    events.on('ended', removed);
    events.emit('ended');
    events.emit('ended');
    expect(heard).toEqual(['removed', 'late']);
  });

  it('subscribes a listener once however often it is added, and counts listeners by event', () => {
    const events = hub();
    const heard: number[] = [];
    const listener = (n: number) => heard.push(n);
    events.on('tick', listener);
    events.on('tick', listener);
    events.on('ended', () => undefined);
    expect(events.listenerCount('tick')).toBe(1);
    expect(events.listenerCount('state')).toBe(0);
    expect(events.eventNames()).toEqual(['tick', 'ended']);
    events.emit('tick', 7);
    expect(heard).toEqual([7]);
  });

  it('lets a subclass emit its own events, and types a map of single payloads', () => {
    type Payloads = PayloadEvents<{ joined: { peer: string } }>;
    class Room extends Emitter<Payloads> {
      join(peer: string) {
        this.emit('joined', { peer });
      }
    }
    const room = new Room();
    const heard: string[] = [];
    room.on('joined', ({ peer }) => heard.push(peer));
    room.join('p1');
    expect(heard).toEqual(['p1']);
  });
});
