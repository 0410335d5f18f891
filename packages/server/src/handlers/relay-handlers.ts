import { AppError } from '../shared/app-error.js';
import type { Peer } from '../rooms/room.js';
import type { RelayAck } from '../rooms/peer-sink.js';
import { requirePeer, type Handler } from './handler.js';

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

const toOne = (ack: RelayAck) => ({ recipients: 1, ...ack });

/**
 * `signal.send` and `data.send`, through the recipient's `relay`. To a peer of this node a relay
 * is synchronous: it is handed to the recipient's connection before the sender's next frame is
 * read, which is what keeps per-pair order. To a peer on another node the request to its node is
 * published at once, in the same order; the ack waits for that node's answer.
 */
export function relayHandlers() {
  // Peer ids are minted by the server from URL-safe characters, so they need no escaping here.
  const signal: Handler<'signal.send'> = (session, data) => {
    const from = requirePeer(session);
    if (!from.permissions.signal) {
      throw new AppError('FORBIDDEN', 'This peer may not send signals');
    }
    const target = findRecipient(from, data.to);
    return target.relay('signal', `{"from":"${from.id}","signal":${JSON.stringify(data.signal)}}`);
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
    const ack = findRecipient(from, data.to).relay('data', json);
    return ack instanceof Promise ? ack.then(toOne) : toOne(ack);
  };

  return { 'signal.send': signal, 'data.send': dataSend };
}
