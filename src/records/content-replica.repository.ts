import { Injectable } from '@nestjs/common';
import type { WorkContext } from '../common/request-context.js';
import { TransactionalConnection } from '../database/transactional-connection.js';

/** Where the announcement poll resumes: holder rows are read in (held_at, cid, node_id) order. */
export interface AnnouncementCursor {
  heldAt: Date;
  cid: string;
  nodeId: string;
}

/**
 * The `storage_nodes` and `content_replicas` tables: which networked-storage node is alive (its
 * heartbeat) and which holds what. Only what nodes say of themselves: a row never grants access to
 * anything, it decides only when a version may be anchored (enough copies) and what to fetch.
 */
@Injectable()
export class ContentReplicaRepository {
  constructor(private readonly connection: TransactionalConnection) {}

  async heartbeat(ctx: WorkContext, nodeId: string, now: Date): Promise<void> {
    await this.connection.query(ctx, `INSERT INTO storage_nodes (node_id, seen_at) VALUES ($1, $2) ON CONFLICT (node_id) DO UPDATE SET seen_at = EXCLUDED.seen_at`, [
      nodeId,
      now,
    ]);
  }

  /** A node that stops cleanly leaves at once: nothing counts on its copies while it is away. */
  async leave(ctx: WorkContext, nodeId: string): Promise<void> {
    await this.connection.query(ctx, `DELETE FROM storage_nodes WHERE node_id = $1`, [nodeId]);
  }

  /** The nodes whose heartbeat is more recent than `since`. */
  async liveNodes(ctx: WorkContext, since: Date): Promise<string[]> {
    const rows = await this.connection.query<Array<{ node_id: string }>>(ctx, `SELECT node_id FROM storage_nodes WHERE seen_at > $1 ORDER BY node_id`, [since]);
    return rows.map((row) => row.node_id);
  }

  /** Writes down that the node holds these contents (those already written down keep their time). */
  async held(ctx: WorkContext, cids: string[], nodeId: string, now: Date): Promise<void> {
    if (cids.length === 0) return;
    await this.connection.query(
      ctx,
      `INSERT INTO content_replicas (cid, node_id, held_at) SELECT cid, $2, $3 FROM unnest($1::text[]) AS cid ON CONFLICT (cid, node_id) DO NOTHING`,
      [cids, nodeId, now],
    );
  }

  async released(ctx: WorkContext, cid: string, nodeId: string): Promise<void> {
    await this.connection.query(ctx, `DELETE FROM content_replicas WHERE cid = $1 AND node_id = $2`, [cid, nodeId]);
  }

  /** How many of the live nodes (heartbeat after `liveSince`) hold the content. */
  async liveHolders(ctx: WorkContext, cid: string, liveSince: Date): Promise<number> {
    const [{ count }] = await this.connection.query<Array<{ count: number }>>(
      ctx,
      `SELECT count(*)::int AS count FROM content_replicas r JOIN storage_nodes n ON n.node_id = r.node_id WHERE r.cid = $1 AND n.seen_at > $2`,
      [cid, liveSince],
    );
    return count;
  }

  /**
   * Holder rows written after the cursor, oldest first, each with its CID when it is another node's
   * and its content is that of a stored or anchored version no key rotation has replaced: what this
   * node should take in (the others only move the cursor).
   */
  async announcedAfter(ctx: WorkContext, cursor: AnnouncementCursor, nodeId: string, take: number): Promise<Array<{ cid?: string; cursor: AnnouncementCursor }>> {
    const rows = await this.connection.query<Array<{ cid: string; held_at: Date; node_id: string }>>(
      ctx,
      // Milliseconds, as a JavaScript Date holds them (see RecordRepository.currentContentAfter).
      `SELECT r.cid, date_trunc('milliseconds', r.held_at) AS held_at, r.node_id FROM content_replicas r
        WHERE (date_trunc('milliseconds', r.held_at), r.cid, r.node_id) > ($1::timestamptz, $2::text, $3::text)
        ORDER BY 2, 1, 3 LIMIT $4`,
      [cursor.heldAt, cursor.cid, cursor.nodeId, take],
    );
    const wanted = rows.filter((row) => row.node_id !== nodeId).map((row) => row.cid);
    const current = new Set(
      wanted.length === 0
        ? []
        : (
            await this.connection.query<Array<{ cid: string }>>(
              ctx,
              `SELECT v.cid FROM record_versions v
                WHERE v.cid = ANY($1::text[]) AND v.status IN ('STORED', 'ANCHORED')
                  AND NOT EXISTS (SELECT 1 FROM record_versions r WHERE r.record_id = v.record_id AND r.rotated_from = v.version AND r.status = 'ANCHORED')`,
              [wanted],
            )
          ).map((row) => row.cid),
    );
    return rows.map((row) => ({
      cid: row.node_id !== nodeId && current.has(row.cid) ? row.cid : undefined,
      cursor: { heldAt: row.held_at, cid: row.cid, nodeId: row.node_id },
    }));
  }

  /**
   * Current anchored contents held by fewer than `copies` live nodes (heartbeat after `liveSince`):
   * what `/health` reports as under-replicated.
   */
  async underReplicated(ctx: WorkContext, copies: number, liveSince: Date): Promise<number> {
    const [{ count }] = await this.connection.query<Array<{ count: number }>>(
      ctx,
      `SELECT count(*)::int AS count FROM record_versions v
        WHERE v.status = 'ANCHORED' AND v.cid IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM record_versions r WHERE r.record_id = v.record_id AND r.rotated_from = v.version AND r.status = 'ANCHORED')
          AND (SELECT count(*) FROM content_replicas c JOIN storage_nodes n ON n.node_id = c.node_id WHERE c.cid = v.cid AND n.seen_at > $2) < $1`,
      [copies, liveSince],
    );
    return count;
  }
}
