import { Logger } from '@nestjs/common';

/**
 * Whether the cache backend is usable right now. Transitions are logged once each ("down",
 * "recovered"), not once per failed request.
 */
export class CacheAvailability {
  private readonly logger = new Logger('Cache');
  private up = true;
  private lastError?: string;

  constructor(readonly backend: 'redis' | 'memory') {}

  get isUp(): boolean {
    return this.up;
  }

  get error(): string | undefined {
    return this.up ? undefined : this.lastError;
  }

  markDown(error: Error): void {
    this.lastError = error.message;
    if (!this.up) return;
    this.up = false;
    this.logger.warn(`${this.backend} cache unavailable, serving from the database: ${error.message}`);
  }

  markUp(): void {
    if (this.up) return;
    this.up = true;
    this.logger.log(`${this.backend} cache available again`);
  }
}
