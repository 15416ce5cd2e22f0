import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigValidationError, loadAppConfig, parseEnv } from './app-config.js';

describe('configuration', () => {
  let dataDir: string;
  beforeEach(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'hl-config-'));
  });
  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
    await rm(`${dataDir}-secrets`, { recursive: true, force: true });
  });

  it('defaults to the embedded mode', async () => {
    const config = await loadAppConfig({ DATA_DIR: dataDir });
    expect(config.http.port).toBe(3000);
    expect(config.database).toEqual({ kind: 'pglite', dir: path.join(dataDir, 'pg'), poolSize: 8 });
    expect(config.cache.kind).toBe('memory');
    expect(config.ledger).toEqual({ kind: 'embedded', dir: path.join(dataDir, 'ledger'), allowCorruptedChain: false });
    expect(config.storage).toEqual({ kind: 'embedded' });
    expect(config.http.tls).toBeUndefined();
  });

  it('switches each part to its production backend by environment', async () => {
    const config = await loadAppConfig({
      DATA_DIR: dataDir,
      DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/hl',
      REDIS_URL: 'redis://127.0.0.1:6379',
      LEDGER: 'fabric',
      FABRIC_PEER_ENDPOINTS: 'peer0.org1:7051, 10.0.0.7:8051=peer1.org1.example.com',
      FABRIC_MSP_ID: 'Org1MSP',
      FABRIC_CERT: '/etc/hl/cert.pem',
      FABRIC_KEY: '/etc/hl/key.pem',
      STORAGE: 'networked',
      STORAGE_LISTEN: '/ip4/127.0.0.1/tcp/4001',
      STORAGE_PEERS: '/ip4/10.0.0.2/tcp/4001/p2p/12D3KooWA, /ip4/10.0.0.3/tcp/4001/p2p/12D3KooWB',
    });
    expect(config.database).toMatchObject({ kind: 'postgres', url: 'postgres://postgres@127.0.0.1:5432/hl' });
    expect(config.cache).toMatchObject({ kind: 'redis', url: 'redis://127.0.0.1:6379' });
    expect(config.ledger).toMatchObject({
      kind: 'fabric',
      mspId: 'Org1MSP',
      channel: 'healthledger',
      peers: [{ endpoint: 'peer0.org1:7051' }, { endpoint: '10.0.0.7:8051', hostAlias: 'peer1.org1.example.com' }],
    });
    expect(config.storage).toMatchObject({
      kind: 'networked',
      listen: ['/ip4/127.0.0.1/tcp/4001'],
      peers: ['/ip4/10.0.0.2/tcp/4001/p2p/12D3KooWA', '/ip4/10.0.0.3/tcp/4001/p2p/12D3KooWB'],
      replicas: 'all',
    });
  });

  it('listens on 127.0.0.1 by default, on every interface in production, and where HOST says', async () => {
    expect((await loadAppConfig({ DATA_DIR: dataDir })).http.host).toBe('127.0.0.1');
    expect((await loadAppConfig({ DATA_DIR: dataDir, HOST: '0.0.0.0' })).http.host).toBe('0.0.0.0');
    const production = { NODE_ENV: 'production', DATA_DIR: dataDir, JWT_SECRET: 'x'.repeat(43), MASTER_KEY: 'ab'.repeat(32), DATABASE_URL: 'postgres://db/hl' };
    expect((await loadAppConfig(production)).http.host).toBe('0.0.0.0');
    expect((await loadAppConfig({ ...production, HOST: '10.0.0.5' })).http.host).toBe('10.0.0.5');
  });

  it('takes STORAGE_REPLICAS as "all" or a number of nodes, and refuses anything else', async () => {
    const networked = { STORAGE: 'networked', STORAGE_LISTEN: '/ip4/127.0.0.1/tcp/4001' };
    expect((await loadAppConfig({ DATA_DIR: dataDir, ...networked, STORAGE_REPLICAS: '2' })).storage).toMatchObject({ replicas: 2 });
    for (const bad of ['0', '-1', 'two', '1.5']) {
      expect(() => parseEnv({ ...networked, STORAGE_REPLICAS: bad })).toThrow(/STORAGE_REPLICAS: must be "all" or a whole number/);
    }
  });

  it('trusts no proxy unless TRUST_PROXY names them (addresses, CIDRs, named ranges) or a number of hops', async () => {
    expect((await loadAppConfig({ DATA_DIR: dataDir })).http.trustProxy).toBe(false);
    expect((await loadAppConfig({ DATA_DIR: dataDir, TRUST_PROXY: ' ' })).http.trustProxy).toBe(false);
    expect((await loadAppConfig({ DATA_DIR: dataDir, TRUST_PROXY: '2' })).http.trustProxy).toBe(2);
    expect((await loadAppConfig({ DATA_DIR: dataDir, TRUST_PROXY: '127.0.0.1, 172.30.0.0/24,fd00::/8 ,::1, loopback' })).http.trustProxy).toEqual([
      '127.0.0.1',
      '172.30.0.0/24',
      'fd00::/8',
      '::1',
      'loopback',
    ]);
    // `true` would let any client pick the address its rate limits count under.
    for (const bad of ['true', '*', 'haproxy', '10.0.0.0/33', '::1/129', '10.0.0.1/8/8', '10.0.0.256', '10.0.0.1,', '1.5', '-1']) {
      expect(() => parseEnv({ TRUST_PROXY: bad }), bad).toThrow(/TRUST_PROXY: must be a number of proxy hops, or a comma-separated list/);
    }
  });

  it('allows no cross-origin caller unless CORS_ORIGINS lists exact origins', async () => {
    expect((await loadAppConfig({ DATA_DIR: dataDir })).http.corsOrigins).toEqual([]);
    expect((await loadAppConfig({ DATA_DIR: dataDir, CORS_ORIGINS: ' ' })).http.corsOrigins).toEqual([]);
    expect((await loadAppConfig({ DATA_DIR: dataDir, CORS_ORIGINS: 'https://portal.example.org, http://localhost:3001' })).http.corsOrigins).toEqual([
      'https://portal.example.org',
      'http://localhost:3001',
    ]);
    // Browsers send the origin lower-case, without a path or a default port: anything else would never match.
    for (const bad of ['*', 'portal.example.org', 'https://portal.example.org/', 'https://portal.example.org/app', 'https://Portal.example.org', 'https://portal.example.org:443', 'ftp://portal.example.org', 'https://a.example.org,', 'null']) {
      expect(() => parseEnv({ CORS_ORIGINS: bad }), bad).toThrow(/CORS_ORIGINS: must be a comma-separated list of exact origins/);
    }
  });

  it('refuses the one-peer FABRIC_PEER_ENDPOINT and FABRIC_PEER_HOST_ALIAS it replaced, and a malformed peer list', () => {
    const fabric = { LEDGER: 'fabric', FABRIC_MSP_ID: 'Org1MSP', FABRIC_CERT: '/c.pem', FABRIC_KEY: '/k.pem' };
    expect(() => parseEnv({ ...fabric, FABRIC_PEER_ENDPOINTS: 'p:7051', FABRIC_PEER_ENDPOINT: 'p:7051' })).toThrow(
      /FABRIC_PEER_ENDPOINT: was replaced by FABRIC_PEER_ENDPOINTS/,
    );
    expect(() => parseEnv({ ...fabric, FABRIC_PEER_ENDPOINTS: 'p:7051', FABRIC_PEER_HOST_ALIAS: 'p' })).toThrow(
      /FABRIC_PEER_HOST_ALIAS: was replaced by FABRIC_PEER_ENDPOINTS/,
    );
    for (const bad of ['peer0', 'p:7051,', 'p:7051=a=b', 'p:port']) {
      expect(() => parseEnv({ ...fabric, FABRIC_PEER_ENDPOINTS: bad }), bad).toThrow(/FABRIC_PEER_ENDPOINTS: must be a comma-separated list of host:port/);
    }
  });

  it('names every bad key and what it expects, without echoing values', () => {
    let error: ConfigValidationError | undefined;
    try {
      parseEnv({
        PORT: 'eighty',
        DATABASE_URL: 'mysql://root:hunter2-secret@db/hl',
        LEDGER: 'ethereum',
        MASTER_KEY: 'short',
        LOG_LEVEL: 'loud',
      });
    } catch (caught) {
      error = caught as ConfigValidationError;
    }
    expect(error).toBeInstanceOf(ConfigValidationError);
    const message = error!.message;
    expect(message).toMatch(/PORT: /);
    expect(message).toMatch(/DATABASE_URL: must be a postgres:\/\/ or postgresql:\/\/ URL/);
    expect(message).toMatch(/LEDGER: .*embedded.*fabric/);
    expect(message).toMatch(/MASTER_KEY: must be 64 hex characters/);
    expect(message).toMatch(/LOG_LEVEL: /);
    expect(error!.problems).toHaveLength(5);
    expect(message).not.toContain('hunter2-secret');
  });

  it('takes the upload and download URL lifetimes in seconds, within 10 s .. 24 h', async () => {
    expect((await loadAppConfig({ DATA_DIR: dataDir })).records).toEqual({ uploadUrlTtlSeconds: 900, downloadUrlTtlSeconds: 300 });
    const config = await loadAppConfig({ DATA_DIR: dataDir, UPLOAD_URL_TTL_SECONDS: '3600', DOWNLOAD_URL_TTL_SECONDS: '10' });
    expect(config.records).toEqual({ uploadUrlTtlSeconds: 3600, downloadUrlTtlSeconds: 10 });
    expect(parseEnv({ UPLOAD_URL_TTL_SECONDS: '86400' }).UPLOAD_URL_TTL_SECONDS).toBe(86_400);

    expect(() => parseEnv({ UPLOAD_URL_TTL_SECONDS: '9' })).toThrow(/UPLOAD_URL_TTL_SECONDS: must be at least 10 \(seconds\)/);
    expect(() => parseEnv({ DOWNLOAD_URL_TTL_SECONDS: '86401' })).toThrow(/DOWNLOAD_URL_TTL_SECONDS: must be at most 86400/);
    expect(() => parseEnv({ DOWNLOAD_URL_TTL_SECONDS: '1.5' })).toThrow(/DOWNLOAD_URL_TTL_SECONDS: must be a whole number of seconds/);
    expect(() => parseEnv({ UPLOAD_URL_TTL_SECONDS: '15m' })).toThrow(/UPLOAD_URL_TTL_SECONDS: must be a whole number of seconds/);
  });

  it('sizes audit batches by database unless AUDIT_BATCH_MAX_EVENTS says otherwise', async () => {
    expect((await loadAppConfig({ DATA_DIR: dataDir })).audit.batchMaxEvents).toBe(500);
    const postgres = { DATA_DIR: dataDir, DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/hl' };
    expect((await loadAppConfig(postgres)).audit.batchMaxEvents).toBe(2000);
    expect((await loadAppConfig({ ...postgres, AUDIT_BATCH_MAX_EVENTS: '50' })).audit.batchMaxEvents).toBe(50);
    expect((await loadAppConfig({ DATA_DIR: dataDir, AUDIT_BATCH_MAX_EVENTS: '' })).audit.batchMaxEvents).toBe(500);
    expect(() => parseEnv({ AUDIT_BATCH_MAX_EVENTS: '0' })).toThrow(/AUDIT_BATCH_MAX_EVENTS/);
    expect(() => parseEnv({ AUDIT_BATCH_MAX_EVENTS: 'lots' })).toThrow(/AUDIT_BATCH_MAX_EVENTS/);
  });

  it('requires the settings each choice depends on', () => {
    expect(() => parseEnv({ LEDGER: 'fabric' })).toThrow(/FABRIC_PEER_ENDPOINTS: is required when LEDGER=fabric/);
    expect(() => parseEnv({ STORAGE: 'networked' })).toThrow(/STORAGE_LISTEN: is required when STORAGE=networked/);
    expect(() => parseEnv({ TLS_CERT: '/c.pem' })).toThrow(/TLS_KEY: TLS_CERT and TLS_KEY go together/);
    expect(() => parseEnv({ ADMIN_EMAIL: 'a@b.org' })).toThrow(/ADMIN_PASSWORD: ADMIN_EMAIL and ADMIN_PASSWORD go together/);
    expect(() => parseEnv({ ADMIN_EMAIL: 'not-an-email', ADMIN_PASSWORD: 'x' })).toThrow(/ADMIN_EMAIL: must be an email/);
  });

  it('holds ADMIN_PASSWORD to the password policy, naming the variables', () => {
    const problemsOf = (password: string) => {
      try {
        parseEnv({ ADMIN_EMAIL: 'Jane.Doe@example.org', ADMIN_PASSWORD: password });
        return [];
      } catch (error) {
        return (error as ConfigValidationError).problems;
      }
    };
    expect(problemsOf('my jane.doe passphrase')).toEqual(['ADMIN_PASSWORD: must not contain the local part of ADMIN_EMAIL (before the @)']);
    expect(problemsOf('x jane.doe@example.org y')).toEqual(['ADMIN_PASSWORD: must not contain ADMIN_EMAIL']);
    expect(problemsOf('too short')).toEqual(['ADMIN_PASSWORD: must be at least 12 characters long']);
    expect(problemsOf('Password1234')).toEqual(['ADMIN_PASSWORD: is too common; choose a longer, less predictable one']);
    expect(problemsOf('tulip orbit canvas 42')).toEqual([]);
    // The value itself never appears in the message: it is a secret.
    expect(problemsOf('my jane.doe passphrase').join('\n')).not.toContain('passphrase');
  });

  it('requires operator-provided secrets and a real database in production', () => {
    expect(() => parseEnv({ NODE_ENV: 'production' })).toThrow(
      /JWT_SECRET: is required when NODE_ENV=production[\s\S]*MASTER_KEY: is required[\s\S]*DATABASE_URL: is required/,
    );
  });

  it('generates the embedded secrets once, owner-only, and keeps them across restarts', async () => {
    const first = await loadAppConfig({ DATA_DIR: dataDir });
    const second = await loadAppConfig({ DATA_DIR: dataDir });
    expect(first.secrets.jwtSecret.length).toBeGreaterThanOrEqual(48);
    expect(first.secrets.masterKey).toHaveLength(32);
    expect(second.secrets.jwtSecret).toBe(first.secrets.jwtSecret);
    expect(second.secrets.masterKey.equals(first.secrets.masterKey)).toBe(true);
    const file = path.join(`${dataDir}-secrets`, 'master-key');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await readFile(file, 'utf8')).trim()).toBe(first.secrets.masterKey.toString('hex'));
  });

  it('uses provided secrets instead of generating any', async () => {
    const masterKey = 'ab'.repeat(32);
    const config = await loadAppConfig({ DATA_DIR: dataDir, MASTER_KEY: masterKey, JWT_SECRET: 'x'.repeat(40) });
    expect(config.secrets.masterKey.toString('hex')).toBe(masterKey);
    expect(config.secrets.jwtSecret).toBe('x'.repeat(40));
    await expect(stat(path.join(dataDir, 'secrets', 'master-key'))).rejects.toThrow();
    await expect(stat(`${dataDir}-secrets`)).rejects.toThrow();
    expect(config.warnings).toEqual([]);
  });

  it('keeps generated secrets outside DATA_DIR: beside it by default, or in SECRETS_DIR', async () => {
    const config = await loadAppConfig({ DATA_DIR: dataDir });
    expect(config.secretsDir).toBe(`${dataDir}-secrets`);
    expect((await readdir(`${dataDir}-secrets`)).sort()).toEqual(['jwt-secret', 'master-key']);
    expect(await readdir(dataDir)).toEqual([]);
    expect(config.warnings).toEqual([]);

    const elsewhere = path.join(dataDir, '..', `${path.basename(dataDir)}-secrets`, 'vault');
    const chosen = await loadAppConfig({ DATA_DIR: dataDir, SECRETS_DIR: elsewhere });
    expect(chosen.secretsDir).toBe(path.resolve(elsewhere));
    expect((await readdir(elsewhere)).sort()).toEqual(['jwt-secret', 'master-key']);
    expect(chosen.secrets.masterKey.equals(config.secrets.masterKey)).toBe(false);
  });

  it('warns when secrets and data share a directory tree, either way round', async () => {
    const inside = await loadAppConfig({ DATA_DIR: dataDir, SECRETS_DIR: path.join(dataDir, 'keys') });
    expect(inside.warnings).toEqual([expect.stringMatching(/SECRETS_DIR .* and DATA_DIR .* share a directory tree/)]);
    const around = await loadAppConfig({ DATA_DIR: path.join(dataDir, 'data'), SECRETS_DIR: dataDir });
    expect(around.warnings).toHaveLength(1);
  });

  it('moves the secrets of an older installation out of DATA_DIR/secrets, keeping their values', async () => {
    const legacyDir = path.join(dataDir, 'secrets');
    await mkdir(legacyDir, { mode: 0o700 });
    await writeFile(path.join(legacyDir, 'master-key'), `${'cd'.repeat(32)}\n`, { mode: 0o600 });
    await writeFile(path.join(legacyDir, 'jwt-secret'), `${'j'.repeat(48)}\n`, { mode: 0o600 });
    const config = await loadAppConfig({ DATA_DIR: dataDir });
    expect(config.secrets.masterKey.toString('hex')).toBe('cd'.repeat(32));
    expect(config.secrets.jwtSecret).toBe('j'.repeat(48));
    expect(config.warnings).toEqual([expect.stringMatching(/moved jwt-secret and master-key from .* to SECRETS_DIR/)]);
    await expect(stat(legacyDir)).rejects.toThrow();
    expect((await stat(path.join(`${dataDir}-secrets`, 'master-key'))).mode & 0o777).toBe(0o600);
    const again = await loadAppConfig({ DATA_DIR: dataDir });
    expect(again.secrets.masterKey.toString('hex')).toBe('cd'.repeat(32));
    expect(again.warnings).toEqual([]);
  });

  it('refuses to start when DATA_DIR/secrets and SECRETS_DIR hold different secrets', async () => {
    await loadAppConfig({ DATA_DIR: dataDir });
    await mkdir(path.join(dataDir, 'secrets'));
    await writeFile(path.join(dataDir, 'secrets', 'master-key'), 'ef'.repeat(32));
    await expect(loadAppConfig({ DATA_DIR: dataDir })).rejects.toThrow(/hold different secrets/);
  });
});
