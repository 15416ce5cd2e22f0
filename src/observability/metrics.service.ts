import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Operation names are chosen by clients: cap how many distinct ones become label values. */
const MAX_OPERATION_LABELS = 200;
const OPERATION_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

@Injectable()
export class MetricsService {
  readonly registry = new Registry();
  private readonly operationLabels = new Set<string>();

  readonly httpRequests = new Counter({
    name: 'healthledger_http_requests_total',
    help: 'HTTP requests by method, route and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });
  readonly httpDuration = new Histogram({
    name: 'healthledger_http_request_duration_seconds',
    help: 'HTTP request latency by method and route',
    labelNames: ['method', 'route'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly graphqlOperations = new Counter({
    name: 'healthledger_graphql_operations_total',
    help: 'GraphQL operations by operation name and type',
    labelNames: ['operation', 'type'] as const,
    registers: [this.registry],
  });
  readonly graphqlDuration = new Histogram({
    name: 'healthledger_graphql_operation_duration_seconds',
    help: 'GraphQL operation latency by operation name and type',
    labelNames: ['operation', 'type'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly errors = new Counter({
    name: 'healthledger_errors_total',
    help: 'Errors returned to clients, by contract error code',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });
  readonly auditBacklog = new Gauge({
    name: 'healthledger_audit_backlog_events',
    help: 'Access events not yet anchored on the ledger, by state (unbatched, pending)',
    labelNames: ['state'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'healthledger_' });
  }

  operationLabel(name: string | null | undefined, authenticated: boolean): string {
    if (!name) return 'anonymous';
    if (!OPERATION_NAME.test(name)) return 'invalid';
    if (this.operationLabels.has(name)) return name;
    // Only a signed-in client's names take one of the label slots: anonymous callers could fill them all
    // with made-up names, after which every real operation would count as "other".
    if (!authenticated) return 'unauthenticated';
    if (this.operationLabels.size >= MAX_OPERATION_LABELS) return 'other';
    this.operationLabels.add(name);
    return name;
  }
}
