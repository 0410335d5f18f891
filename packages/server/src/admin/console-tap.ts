import { performance } from 'node:perf_hooks';
import type { Request } from '@heliograph/protocol';
import type { Session } from '../handlers/handler.js';
import type { Inspector } from '../inspector/inspector.js';
import type { Clock } from '@heliograph/common';
import type { RequestTap } from '../transport/request-tap.js';
import type { RequestMetrics } from './request-metrics.js';

/**
 * The dispatcher's tap for the operator console: counts every answer (a counter or two) and,
 * only while an inspector capture runs on this node, hands the request to the inspector.
 */
export class ConsoleTap implements RequestTap {
  readonly active = true;

  constructor(
    private readonly metrics: RequestMetrics,
    private readonly inspector: Inspector,
    private readonly clock: Clock,
  ) {}

  now(): number {
    return performance.now();
  }

  refused(code: string): void {
    this.metrics.refused(code);
  }

  answered(session: Session, request: Request, frame: string, startedAt: number, error: string | undefined): void {
    const ms = performance.now() - startedAt;
    this.metrics.record(request.type, ms, error);
    if (this.inspector.active) {
      this.inspector.observe({ session, request, frame, at: this.clock.now(), ms, error });
    }
  }
}
