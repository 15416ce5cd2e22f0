import path from 'node:path';
import type { AppConfig } from './app-config.js';

/** A URL's host, port and path, never its user or password. */
function location(url: string): string {
  const parsed = new URL(url);
  return `${parsed.hostname}${parsed.port ? `:${parsed.port}` : ''}${parsed.pathname === '/' ? '' : parsed.pathname}`;
}

/**
 * What the server says when it is up: one line per part with what it runs on and where, then where to
 * point a browser. Secrets (passwords in URLs, keys) never appear.
 */
export function startupSummary(config: AppConfig, port: number): string[] {
  const { database, cache, ledger, storage } = config;
  const host = config.http.host === '0.0.0.0' || config.http.host === '::' ? 'localhost' : config.http.host;
  const base = `${config.http.tls ? 'https' : 'http'}://${host}:${port}`;
  return [
    `database: ${database.kind === 'postgres' ? `PostgreSQL at ${location(database.url)}` : `embedded PostgreSQL (PGlite) in ${database.dir}`}`,
    `cache: ${cache.kind === 'redis' ? `Redis at ${location(cache.url)}` : 'in memory (this process)'}`,
    `ledger: ${
      ledger.kind === 'fabric'
        ? `Hyperledger Fabric channel ${ledger.channel}, chaincode ${ledger.chaincode}, as ${ledger.mspId} via ${ledger.peers.map((peer) => peer.endpoint).join(', ')}`
        : `embedded in ${ledger.dir}`
    }`,
    `storage: ${
      storage.kind === 'networked'
        ? `networked IPFS in ${path.join(config.dataDir, 'ipfs')}, listening on ${storage.listen.join(', ')}, ${storage.peers.length} configured peer(s)`
        : `embedded IPFS in ${path.join(config.dataDir, 'ipfs')}`
    }`,
    `HealthLedger listening on ${config.http.host}:${port}: GraphQL API and IDE at ${base}/graphql, FHIR at ${base}/fhir/R4, health at ${base}/health`,
  ];
}
