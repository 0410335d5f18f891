import { AppError } from '../shared/app-error.js';
import type { Delivery, Peer } from '../rooms/peer.js';
import { assertHandedOver } from '../rooms/room-catalog.js';
import { requirePeer, type Handler } from './handler.js';

/** The ack of a relay to a peer of this node: `queued` when it is reconnecting; an error when it is gone. */
function handedOver(delivery: Delivery, to: string): { queued?: true } {
  assertHandedOver(delivery, to);
  return delivery === 'queued' ? { queued: true } : {};
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
 * Hands a relay to a peer on another node (cluster mode), or to one that has just moved here
 * (`Peer.earlierRoute`): resolves once it is on its connection (`queued`: kept for it while it
 * reconnects).
 */
export interface RemoteDelivery {
  deliver(target: Peer, event: 'signal' | 'data', dataJson: string): Promise<{ queued?: true }>;
}

/**
 * `signal.send` and `data.send`. To a peer of this node both are synchronous: a relay is handed to
 * the recipient's connection before the sender's next frame is read, which is what keeps
 * per-pair order. To a peer on another node the request to its node is published at once, in the
 * same order, on the one connection the node publishes on; the ack waits for that node's answer.
 */
export function relayHandlers(remote?: RemoteDelivery) {
  const toRemote = (target: Peer, event: 'signal' | 'data', json: string) => {
    if (!remote) {
      throw new AppError('INTERNAL', 'A peer on another node without a cluster');
    }
    return remote.deliver(target, event, json);
  };

  // Peer ids are minted by the server from URL-safe characters, so they need no escaping here.
  const signal: Handler<'signal.send'> = (session, data) => {
    const from = requirePeer(session);
    if (!from.permissions.signal) {
      throw new AppError('FORBIDDEN', 'This peer may not send signals');
    }
    const target = findRecipient(from, data.to);
    const json = `{"from":"${from.id}","signal":${JSON.stringify(data.signal)}}`;
    if (target.node !== undefined || target.earlierRoute) {
      return toRemote(target, 'signal', json);
    }
    return handedOver(target.sink.sendEvent('signal', json), data.to);
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
    if (target.node !== undefined || target.earlierRoute) {
      return toRemote(target, 'data', json).then((ack) => ({ recipients: 1, ...ack }));
    }
    return { recipients: 1, ...handedOver(target.sink.sendEvent('data', json), data.to) };
  };

  return { 'signal.send': signal, 'data.send': dataSend };
}
