import { Injectable } from '@nestjs/common';

export type ComponentState = 'up' | 'degraded' | 'down';

export interface ComponentHealth {
  status: ComponentState;
  /** What backs the component (e.g. "pglite", "postgres", "redis", "memory"). */
  backend: string;
  /** Safe operational details: never secrets, never URLs with credentials. */
  details?: Record<string, unknown>;
  error?: string;
}

export type HealthCheck = () => Promise<ComponentHealth>;

const CHECK_TIMEOUT_MS = 3_000;

/**
 * Each module that owns a backend registers a check here at init; `/health` and the `health` query
 * read them all. A component that cannot answer in time is reported down, not waited for.
 */
@Injectable()
export class HealthRegistry {
  private readonly checks = new Map<string, HealthCheck>();

  register(component: string, check: HealthCheck): void {
    this.checks.set(component, check);
  }

  async report(): Promise<{ status: ComponentState; components: Record<string, ComponentHealth> }> {
    const entries = await Promise.all(
      [...this.checks].map(async ([name, check]) => [name, await runCheck(check)] as const),
    );
    const components = Object.fromEntries(entries);
    const states = entries.map(([, health]) => health.status);
    const status: ComponentState = states.includes('down') ? 'down' : states.includes('degraded') ? 'degraded' : 'up';
    return { status, components };
  }
}

async function runCheck(check: HealthCheck): Promise<ComponentHealth> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<ComponentHealth>((resolve) => {
    timer = setTimeout(
      () => resolve({ status: 'down', backend: 'unknown', error: `no answer within ${CHECK_TIMEOUT_MS} ms` }),
      CHECK_TIMEOUT_MS,
    );
  });
  try {
    return await Promise.race([check(), timeout]);
  } catch (error) {
    return { status: 'down', backend: 'unknown', error: (error as Error).message };
  } finally {
    clearTimeout(timer);
  }
}
