import { tooDeepAt, tooDeepMessage } from '@heliograph/protocol';
import type { FastifyInstance } from 'fastify';
import { AppError } from '../shared/app-error.js';

/**
 * Refuses a REST body nesting deeper than `limits.maxDepth` before validation or any handler sees
 * it: a room's or peer's metadata stored from such a body would overflow the stack wherever it is
 * next serialised (a join, a webhook), long after the request that stored it.
 */
export function installDepthGuard(app: FastifyInstance, maxDepth: number): void {
  app.addHook('preValidation', async (request) => {
    const { body } = request;
    if (typeof body !== 'object' || body === null) {
      return;
    }
    const at = tooDeepAt(body, maxDepth);
    if (at !== null) {
      throw new AppError('BAD_REQUEST', tooDeepMessage('The body', maxDepth), { issues: [{ path: at, message: `nested deeper than ${maxDepth} levels` }] });
    }
  });
}
