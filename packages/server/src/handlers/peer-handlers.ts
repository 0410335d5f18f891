import type { Clock } from '../shared/clock.js';
import { requirePeer, type Handler } from './handler.js';

export function peerHandlers({ clock }: { clock: Clock }) {
  const update: Handler<'peer.update'> = (session, data) => {
    const peer = requirePeer(session);
    peer.update(data);
    peer.room.broadcast('peer.updated', `{"peer":${peer.infoJson()}}`, peer.id);
    return { peer: peer.info() };
  };

  const ping: Handler<'ping'> = () => ({ serverTime: clock.now() });

  return { 'peer.update': update, ping };
}
