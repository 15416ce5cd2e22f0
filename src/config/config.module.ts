import { Global, Module } from '@nestjs/common';
import { AppConfig } from './app-config.js';
import { PublicUrl } from './public-url.js';

/** Provides the already-validated {@link AppConfig} built in main.ts (or by a test) before Nest starts, and the {@link PublicUrl} built on it. */
@Global()
@Module({})
export class ConfigModule {
  static forRoot(config: AppConfig) {
    return { module: ConfigModule, providers: [{ provide: AppConfig, useValue: config }, PublicUrl], exports: [AppConfig, PublicUrl] };
  }
}
