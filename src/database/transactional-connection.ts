import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager, type EntityTarget, type ObjectLiteral, type Repository } from 'typeorm';
import type { WorkContext } from '../common/request-context.js';

/** Where a context keeps its open transaction: a symbol, so no serializer, log line or spread into a DTO shows it. */
const TRANSACTION = Symbol('healthledger.transaction');
/** Where a context keeps the one connection (database session) it is pinned to, outside a transaction. */
const SESSION = Symbol('healthledger.session');

type Carried = { readonly [TRANSACTION]?: EntityManager; readonly [SESSION]?: EntityManager };

/**
 * The one way code reaches the database: through the context it works in (Vendure's
 * TransactionalConnection). `withTransaction(ctx, work)` opens a transaction and hands `work` a copy
 * of the context that carries it; every repository method called with that context runs in it, so an
 * action, its audit event and its side tables commit or roll back together without an EntityManager
 * passed from hand to hand. Outside a transaction the same methods use the pool.
 *
 * Only a module's repositories (`*.repository.ts`) and src/database use this class (lint enforces it);
 * services orchestrate repositories and open transactions through `withTransaction`.
 */
@Injectable()
export class TransactionalConnection {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * Runs `work` in one transaction carried by the context it is given. A context that already carries
   * one joins it (the outer caller commits), so a service may open a transaction whatever its caller did.
   */
  async withTransaction<C extends WorkContext, T>(ctx: C, work: (ctx: C) => Promise<T>): Promise<T> {
    if (transactionOf(ctx)) return work(ctx);
    // In a context pinned to a session (withSession) the transaction runs on that session.
    return (sessionOf(ctx) ?? this.dataSource.manager).transaction((manager) =>
      work(Object.freeze({ ...ctx, [TRANSACTION]: manager }) as unknown as C),
    );
  }

  /**
   * Runs `work` on one dedicated connection carried by the context, for state that lives in a database
   * session rather than a transaction (a session-level advisory lock held across several transactions
   * and ledger calls, released on the session that took it). Statements and transactions opened with
   * the context it is given run on that connection; it goes back to the pool when `work` ends. A context
   * already pinned to a connection (or carrying a transaction) keeps it. For repositories: a service
   * asks its repository for the session-scoped thing it needs (e.g. AuditBatchRepository.whileBatching).
   */
  async withSession<C extends WorkContext, T>(ctx: C, work: (ctx: C) => Promise<T>): Promise<T> {
    if (transactionOf(ctx) || sessionOf(ctx)) return work(ctx);
    const runner = this.dataSource.createQueryRunner();
    try {
      await runner.connect();
      return await work(Object.freeze({ ...ctx, [SESSION]: runner.manager }) as unknown as C);
    } finally {
      await runner.release();
    }
  }

  /** True when `ctx` carries an open transaction (for code that must behave differently inside one, e.g. group commit). */
  inTransaction(ctx: WorkContext): boolean {
    return transactionOf(ctx) !== undefined;
  }

  /** The context's transaction, else the connection it is pinned to (withSession), else the pool. */
  manager(ctx: WorkContext): EntityManager {
    return transactionOf(ctx) ?? sessionOf(ctx) ?? this.dataSource.manager;
  }

  /** An entity's TypeORM repository in the context's transaction (or session, or on the pool). */
  getRepository<E extends ObjectLiteral>(ctx: WorkContext, entity: EntityTarget<E>): Repository<E> {
    return this.manager(ctx).getRepository(entity);
  }

  /** Raw SQL in the context's transaction (or session, or on the pool). */
  query<R = unknown>(ctx: WorkContext, sql: string, parameters?: unknown[]): Promise<R> {
    return this.manager(ctx).query(sql, parameters) as Promise<R>;
  }
}

function transactionOf(ctx: WorkContext): EntityManager | undefined {
  return (ctx as Carried)[TRANSACTION];
}

function sessionOf(ctx: WorkContext): EntityManager | undefined {
  return (ctx as Carried)[SESSION];
}
