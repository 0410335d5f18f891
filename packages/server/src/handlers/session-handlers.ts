import { AppError } from '../shared/app-error.js';
import type { Handler } from './handler.js';

/**
 * `session.ack` and `session.resume`. A resume that can be honoured is taken by the connection
 * before it reaches the dispatcher (it moves the connection to another session, and its replay
 * must follow its answer), so the one that arrives here came too late.
 */
export function sessionHandlers() {
  const ack: Handler<'session.ack'> = (session, data) => {
    session.acknowledge(data.seq);
    return {};
  };
  const resume: Handler<'session.resume'> = () => {
    throw new AppError('BAD_REQUEST', 'session.resume must be the first request on a new connection');
  };
  return { 'session.ack': ack, 'session.resume': resume };
}
