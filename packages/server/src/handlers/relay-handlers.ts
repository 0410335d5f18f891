import { AppError } from '../shared/app-error.js';
import type { Delivery, Peer } from '../rooms/peer.js';
import { requirePeer, type Handler } from './handler.js';

/** Turns a failed hand-off into the error the sender gets. */
function assertDelivered(delivery: Delivery, to: string): void {
  if (delivery === 'overloaded') {
    throw new AppError('PEER_OVERLOADED', `Peer "${to}" could not keep up and was disconnected`);
  }
  if (delivery === 'gone') {
    throw new AppError('PEER_NOT_FOUND', `Peer "${to}" has gone`);
  }
}

function findRecipient(from: Peer, to: string): Peer {
  const target = from.room.peers.get(to);
  if (!target) {
    throw new AppError('PEER_NOT_FOUND', `No peer "${to}" in room "${from.room.id}"`);
  }
  if (target === from) {
    throw new AppError('BAD_REQUEST', 'A peer cannot send to itself');
  }
  return target;
}

/**
 * `signal.send` and `data.send`. Both are synchronous: a relay is handed to the recipient's
 * connection before the sender's next frame is read, which is what keeps per-pair order.
 */
export function relayHandlers() {
  // Peer ids are minted by the server from URL-safe characters, so they need no escaping here.
  const signal: Handler<'signal.send'> = (session, data) => {
    const from = requirePeer(session);
    if (!from.permissions.signal) {
      throw new AppError('FORBIDDEN', 'This peer may not send signals');
    }
    const target = findRecipient(from, data.to);
    assertDelivered(target.sink.sendEvent('signal', `{"from":"${from.id}","signal":${JSON.stringify(data.signal)}}`), data.to);
    return {};
  };

  const dataSend: Handler<'data.send'> = (session, data) => {
    const from = requirePeer(session);
    if (!from.permissions.data) {
      throw new AppError('FORBIDDEN', 'This peer may not send data');
    }
    const json = `{"from":"${from.id}","payload":${JSON.stringify(data.payload)}}`;
    if (data.to === undefined) {
      return { recipients: from.room.broadcast('data', json, from.id) };
    }
    const target = findRecipient(from, data.to);
    assertDelivered(target.sink.sendEvent('data', json), data.to);
    return { recipients: 1 };
  };

  return { 'signal.send': signal, 'data.send': dataSend };
}
