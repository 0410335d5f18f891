import type { IncomingMessage } from 'node:http';
import proxyAddr from '@fastify/proxy-addr';

/** The client's address of a request: the TCP peer, or what trusted proxies say it is. */
export type ClientAddress = (req: IncomingMessage) => string;

/**
 * Builds the one rule for "who is the client" that every per-address limit uses, the same rule
 * Fastify applies to `request.ip` (it uses the same library with the same setting). Without
 * trusted proxies, `X-Forwarded-For` is ignored, so a client cannot pick its own address.
 */
export function clientAddressResolver(trustProxy: string | undefined): ClientAddress {
  if (!trustProxy) {
    return (req) => req.socket.remoteAddress ?? '';
  }
  const trust = proxyAddr.compile(
    trustProxy
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s.length > 0),
  );
  return (req) => proxyAddr(req, trust);
}
