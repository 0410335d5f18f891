import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { clientAddressResolver } from './client-address.js';

const request = (remoteAddress: string | undefined, forwardedFor?: string) =>
  ({
    socket: { remoteAddress },
    connection: { remoteAddress },
    headers: forwardedFor ? { 'x-forwarded-for': forwardedFor } : {},
  }) as unknown as IncomingMessage;

describe('clientAddressResolver', () => {
  it('without trusted proxies is the TCP peer, whatever X-Forwarded-For claims', () => {
    const address = clientAddressResolver(undefined);
    expect(address(request('10.0.0.1', '6.6.6.6'))).toBe('10.0.0.1');
    expect(address(request(undefined))).toBe('');
    expect(clientAddressResolver('')(request('10.0.0.1', '6.6.6.6'))).toBe('10.0.0.1');
  });

  it('believes X-Forwarded-For only as far as the proxies are trusted', () => {
    const address = clientAddressResolver(' 127.0.0.1 , 10.0.0.0/8,');
    expect(address(request('127.0.0.1', '203.0.113.7'))).toBe('203.0.113.7');
    // The proxy chain: client, then a trusted proxy, then the one that connected.
    expect(address(request('127.0.0.1', '203.0.113.7, 10.1.2.3'))).toBe('203.0.113.7');
    // An untrusted hop stops the walk: the client could have written what is left of it.
    expect(address(request('127.0.0.1', '203.0.113.7, 198.51.100.1'))).toBe('198.51.100.1');
    expect(address(request('192.0.2.1', '203.0.113.7'))).toBe('192.0.2.1');
  });
});
