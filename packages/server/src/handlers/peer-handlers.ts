import type { Rooms } from '../rooms/rooms.js';
import { AppError } from '../shared/app-error.js';
import type { Clock } from '@heliograph/common';
import { requirePeer, type Handler } from './handler.js';

export function peerHandlers({ clock, rooms }: { clock: Clock; rooms: Rooms }) {
  const update: Handler<'peer.update'> = (session, data) => {
    const peer = requirePeer(session);
    if (!peer.permissions.update) {
      throw new AppError('FORBIDDEN', 'This peer may not change its name or metadata');
    }
    rooms.updatePeer(peer, data);
    return { peer: peer.info() };
  };

  const ping: Handler<'ping'> = () => ({ serverTime: clock.now() });

  return { 'peer.update': update, ping };
}
