import type { PixelStreamingEvents } from '../pixel-streaming/events.js';
import type { Webhooks } from './webhooks.js';

/**
 * Forwards the Pixel Streaming dialect's streamer events to webhooks, under the streamer's
 * presence room (`ps:<id>`) so that they share its per-room order. Returns the unsubscribe.
 */
export function publishStreamerEvents(events: PixelStreamingEvents, webhooks: Pick<Webhooks, 'publish'>): () => void {
  const offs = [
    events.on('streamer.connected', (e) => webhooks.publish('streamer.connected', `ps:${e.streamerId}`, e)),
    events.on('streamer.disconnected', (e) => webhooks.publish('streamer.disconnected', `ps:${e.streamerId}`, e)),
  ];
  return () => {
    for (const off of offs) {
      off();
    }
  };
}
