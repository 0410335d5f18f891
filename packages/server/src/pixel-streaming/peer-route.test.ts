import { describe, expect, it } from 'vitest';
import { AppError } from '../shared/app-error.js';
import { settle } from '../test-support/fake-ps-cluster.js';
import { PeerRoute, type PeerAddress } from './peer-route.js';

const OLD: PeerAddress = { room: 'ps:Old', peer: 'PS1' };
const NEW: PeerAddress = { room: 'ps:New', peer: 'PS2' };

/**
 * A route whose relays are answered by hand: `sent` lists `room/peer <data>` per relay, `answer`
 * settles the oldest unanswered one (undefined: delivered; an error code: refused with it).
 */
function scripted(from: () => string | undefined = () => 'PP1') {
  const sent: string[] = [];
  const pending: Array<(error?: string) => void> = [];
  let lost = 0;
  const route = new PeerRoute(OLD, {
    remoteAddress: '192.0.2.9',
    from,
    lost: () => lost++,
    relay: (to, dataJson) => {
      sent.push(`${to.room}/${to.peer} ${dataJson}`);
      return new Promise((resolve, reject) => {
        pending.push((error) => (error ? reject(new AppError(error === 'PEER_NOT_FOUND' ? 'PEER_NOT_FOUND' : 'TIMEOUT')) : resolve({})));
      });
    },
  });
  const answer = async (...outcomes: Array<string | undefined>) => {
    for (const outcome of outcomes) {
      pending.shift()?.(outcome);
    }
    await settle();
  };
  return { route, sent, answer, lost: () => lost };
}

const data = (n: number, from = 'PP1') => `{"from":"${from}","payload":{"type":"iceCandidate","n":${n}}}`;
const message = (n: number) => ({ type: 'iceCandidate', n });

describe('PeerRoute', () => {
  it('relays each message as data from its presence peer, in order, at once', () => {
    const { route, sent } = scripted();
    route.send(message(1));
    route.send(message(2));
    expect(sent).toEqual([`ps:Old/PS1 ${data(1)}`, `ps:Old/PS1 ${data(2)}`]);
    expect(route.to).toEqual(OLD);
    expect(route.remoteAddress).toBe('192.0.2.9');
  });

  it('keeps what is sent while held, and sends again what the old address refused, before it, in the original order', async () => {
    const { route, sent, answer, lost } = scripted();
    route.send(message(1));
    route.send(message(2));
    route.send(message(3));
    route.hold();
    route.send(message(4));
    expect(sent).toHaveLength(3);
    const told: string[] = [];
    const moving = route.readdress(NEW, () => {
      told.push(`moved; ${sent.length} sent`);
      return true;
    });
    // Delivered, then refused twice (the counterpart had left the old room): those two go again.
    await answer(undefined, 'PEER_NOT_FOUND', 'PEER_NOT_FOUND');
    await moving;
    expect(told).toEqual(['moved; 3 sent']);
    expect(sent.slice(3)).toEqual([`ps:New/PS2 ${data(2)}`, `ps:New/PS2 ${data(3)}`, `ps:New/PS2 ${data(4)}`]);
    route.send(message(5));
    expect(sent.at(-1)).toBe(`ps:New/PS2 ${data(5)}`);
    expect(lost()).toBe(0);
  });

  it('counts as lost what failed otherwise (not known to be undelivered), and sends it no more', async () => {
    const { route, sent, answer, lost } = scripted();
    route.send(message(1));
    await answer('TIMEOUT');
    expect(lost()).toBe(1);
    await route.readdress(NEW);
    expect(sent).toEqual([`ps:Old/PS1 ${data(1)}`]);
  });

  it('stays held when the move was overtaken (before answers false), and stamps the presence peer of the moment', async () => {
    let from = 'PP1';
    const { route, sent } = scripted(() => from);
    route.hold();
    route.send(message(1));
    await route.readdress(NEW, () => false);
    expect(route.to).toBeUndefined();
    expect(sent).toEqual([]);
    from = 'PP2';
    await route.readdress(NEW);
    expect(sent).toEqual([`ps:New/PS2 ${data(1, 'PP2')}`]);
  });

  it('keeps what is sent while this side has no presence peer (it is moving too), until readdressed', async () => {
    let from: string | undefined;
    const { route, sent, lost } = scripted(() => from);
    route.send(message(1));
    route.hold();
    route.send(message(2));
    expect(sent).toEqual([]);
    from = 'PP2';
    await route.readdress(NEW);
    expect(sent).toEqual([`ps:New/PS2 ${data(1, 'PP2')}`, `ps:New/PS2 ${data(2, 'PP2')}`]);
    expect(lost()).toBe(0);
  });

  it('keeps at most 512 messages while held', async () => {
    const { route, sent, lost } = scripted();
    route.hold();
    for (let n = 0; n < 515; n++) {
      route.send(message(n));
    }
    expect(lost()).toBe(3);
    await route.readdress(NEW);
    expect(sent).toHaveLength(512);
    expect(sent.at(-1)).toBe(`ps:New/PS2 ${data(511)}`);
  });

  it('tells its close handler once, with the code and reason; a drop tells nothing; closed, it sends nothing', async () => {
    const closes: string[] = [];
    const closed = scripted();
    closed.route.onClose((code, reason) => closes.push(`${String(code)} ${String(reason)}`));
    closed.route.close(1011, 'kicked');
    closed.route.close(1000, 'again');
    closed.route.terminate();
    closed.route.send(message(1));
    expect(closed.route.closed).toBe(true);
    expect(closes).toEqual(['1011 kicked']);
    expect(closed.sent).toEqual([]);

    const dropped = scripted();
    dropped.route.onClose(() => closes.push('dropped'));
    dropped.route.send(message(1));
    dropped.route.hold();
    dropped.route.send(message(2));
    dropped.route.drop();
    await dropped.answer('PEER_NOT_FOUND');
    await dropped.route.readdress(NEW);
    expect(closes).toEqual(['1011 kicked']);
    expect(dropped.sent).toEqual([`ps:Old/PS1 ${data(1)}`]);
  });
});
