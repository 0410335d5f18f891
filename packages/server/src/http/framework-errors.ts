import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { errorBody, type ErrorCode } from '@heliograph/protocol';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';

/** Node's parser errors, by `err.code`: the status Node and Fastify give them, and our code. */
function parserError(code: string | undefined): [number, ErrorCode, string] {
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return [408, 'TIMEOUT', 'The request was not received in time'];
  }
  if (code === 'HPE_HEADER_OVERFLOW') {
    return [431, 'PAYLOAD_TOO_LARGE', 'The request headers are too large'];
  }
  return [400, 'BAD_REQUEST', 'The request is not valid HTTP'];
}

/**
 * Fastify's `clientErrorHandler`: a request Node could not parse, or did not receive in time, is
 * answered with the documented error body (Fastify's default has a shape of its own) and
 * `Connection: close`: the socket is destroyed right after, and a keep-alive client must not send
 * its next request on it.
 */
export function clientErrorHandler(err: Error & { code?: string; rawPacket?: unknown }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) {
    return;
  }
  if (socket.writable) {
    const [status, code, message] = parserError(err.code);
    const body = JSON.stringify({ error: errorBody(code, message) });
    const head = [
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}`,
      'Content-Type: application/json; charset=utf-8',
      `Content-Length: ${Buffer.byteLength(body)}`,
      'Connection: close',
    ];
    // The answer to a HEAD has no body. Node's error carries the chunk it failed on, which shows
    // the method when it starts the request (headers too long for one chunk do not: best effort).
    const isHead = Buffer.isBuffer(err.rawPacket) && err.rawPacket.subarray(0, 5).toString('latin1') === 'HEAD ';
    socket.write(`${head.join('\r\n')}\r\n\r\n${isHead ? '' : body}`);
  }
  socket.destroy();
}

/**
 * Fastify's `frameworkErrors`: its router's refusals (a path with malformed percent-encoding, a
 * path parameter over 100 characters) in the documented error shape, with Fastify's statuses.
 */
export function frameworkErrors(err: FastifyError, _req: FastifyRequest, reply: FastifyReply): void {
  const status = err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 400;
  const message = err.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'A path segment is too long' : 'The URL is malformed';
  void reply.status(status).send({ error: errorBody('BAD_REQUEST', message) });
}
