import { Injectable } from '@nestjs/common';
import { systemContext } from '../common/request-context.js';
import { TransactionalConnection } from './transactional-connection.js';

/** A part of the deployment that every node sharing this database must share too. */
export type DeploymentPart = 'ledger' | 'storage';

/** What a node's ledger or storage is: an id equal on every node that shares it, and words for people. */
export interface DeploymentIdentity {
  /** Equal on two nodes exactly when they read and write the same ledger (or storage). */
  readonly id: string;
  /** What it is, for the message that refuses a node (e.g. "the embedded ledger in /data/ledger"). */
  readonly description: string;
}

/** A node whose ledger or storage is not the one this database's records live on: it must not start. */
export class DeploymentSplitError extends Error {
  override readonly name = 'DeploymentSplitError';
}

/** What to configure instead, by part. */
const REMEDY: Record<DeploymentPart, string> = {
  ledger:
    'API nodes that share a database must share one ledger: set LEDGER=fabric (and the same FABRIC_CHANNEL and FABRIC_CHAINCODE) ' +
    'on every node (fabric/README.md), or give this node a database of its own (DATABASE_URL)',
  storage:
    'API nodes that share a database must share one storage network: set STORAGE=networked on every node, with STORAGE_PEERS ' +
    'naming the others, or give this node a database of its own (DATABASE_URL)',
};

/**
 * The database knows its deployment: the first node to start binds it to that node's ledger and storage,
 * and every later start (of any node) must present the same ones. Otherwise two nodes on one database
 * would split it silently: a record anchored on one node's embedded ledger shows ANCHORED on another
 * node whose ledger has never heard of it, content stored in one node's blocks is a 404 on the other,
 * and two audit chains fight over one database's roots. A node that cannot share what the database
 * holds refuses to start and says what to configure.
 */
@Injectable()
export class DeploymentBindings {
  constructor(private readonly connection: TransactionalConnection) {}

  /** Binds the database to `identity` at first start; afterwards refuses (DeploymentSplitError) any other. */
  async bind(part: DeploymentPart, identity: DeploymentIdentity): Promise<void> {
    const ctx = systemContext('deployment-binding');
    // Concurrent first starts of several nodes agree on one row: the first insert wins, the others compare with it.
    await this.connection.query(
      ctx,
      `INSERT INTO deployment_binding (part, identity, description) VALUES ($1, $2, $3) ON CONFLICT (part) DO NOTHING`,
      [part, identity.id, identity.description],
    );
    const [bound] = await this.connection.query<Array<{ identity: string; description: string; bound_at: Date }>>(
      ctx,
      `SELECT identity, description, bound_at FROM deployment_binding WHERE part = $1`,
      [part],
    );
    if (bound!.identity === identity.id) return;
    throw new DeploymentSplitError(
      `This database's records live on ${bound!.description} (bound ${bound!.bound_at.toISOString()}), ` +
        `but this node's ${part} is ${identity.description}: starting would split the deployment. ${REMEDY[part]}.`,
    );
  }
}
