import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module.js';
import { AuditExportController } from './audit-export.controller.js';
import { AuditResolver } from './audit.resolver.js';
import { BalpAuditEvents } from './balp-audit-events.js';

/**
 * The audit trail's API (GraphQL queries, the streamed export). Separate from the global AuditModule (which every module uses
 * to record events) because naming actors needs the auth module, which itself records events.
 */
@Module({ imports: [AuthModule], controllers: [AuditExportController], providers: [AuditResolver, BalpAuditEvents], exports: [BalpAuditEvents] })
export class AuditApiModule {}
