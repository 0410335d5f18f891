import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { HeliographClient } from './client.js';

describe('WebSocket implementations', () => {
  it("accepts ws's class as the WebSocket option, as docs/client.md tells Node 20 users", () => {
    // The point is that this compiles without a cast (tsconfig.tests.json type-checks it).
    const client = new HeliographClient({ url: 'ws://127.0.0.1:9/ws', token: 't', WebSocket, reconnect: false });
    expect(client.state).toBe('idle');
  });
});
