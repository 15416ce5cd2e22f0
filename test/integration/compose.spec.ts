import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { BlockList } from 'node:net';
import { delimiter, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { envSchema } from '../../src/config/config.schema.js';
import { STORAGE_PEERS_FILE } from '../../src/storage/cli/provision-storage-peers.js';

const run = promisify(execFile);

/**
 * docker/compose.yaml cannot be started on CI machines (no Docker engine), so what makes it a deployment is pinned here
 * against the code and the other files it names: three API nodes on one database, Redis, Fabric ledger and networked
 * storage, each behind HAProxy; one of them bootstraps the first admin; every environment variable is one the app
 * reads; the Fabric services agree with fabric/config; every file it names exists. docker-compose itself checks the
 * file where it is installed (CI installs it and sets REQUIRE_COMPOSE), HAProxy its configuration.
 */
const root = resolve(import.meta.dirname, '../..');
const dockerDir = join(root, 'docker');
const FABRIC_VERSION = '2.4.9';

interface Service {
  image?: string;
  build?: { context: string; dockerfile: string };
  command?: string[];
  environment?: Record<string, string | number>;
  volumes?: string[];
  ports?: string[];
  user?: string;
  depends_on?: Record<string, { condition: string }>;
}

function readEnvFile(file: string): Record<string, string> {
  const entries = readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => /^[A-Z_][A-Z0-9_]*=/.test(line))
    .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)] as const);
  return Object.fromEntries(entries);
}

/** Compose's interpolation: `$$`, `${VAR}`, `${VAR:?message}` (an error when unset or empty), `${VAR:-default}`. */
function interpolate(value: string, vars: Record<string, string>): string {
  return value.replace(/\$\$|\$\{([A-Z_][A-Z0-9_]*)(?::?([?-])([^}]*))?\}/g, (whole, name: string | undefined, op, arg: string) => {
    if (whole === '$$') return '$';
    const set = vars[name!];
    if (set) return set;
    if (op === '?') throw new Error(`${name} is unset: ${arg}`);
    return op === '-' ? arg : '';
  });
}

function interpolated<T>(node: T, vars: Record<string, string>): T {
  if (typeof node === 'string') return interpolate(node, vars) as T;
  if (Array.isArray(node)) return node.map((item) => interpolated(item, vars)) as T;
  if (node && typeof node === 'object') return Object.fromEntries(Object.entries(node).map(([key, value]) => [key, interpolated(value, vars)])) as T;
  return node;
}

const composeText = readFileSync(join(dockerDir, 'compose.yaml'), 'utf8');
const example = readEnvFile(join(dockerDir, '.env.example'));
/** Secrets as an operator sets them. */
const operatorEnv = {
  POSTGRES_PASSWORD: randomBytes(24).toString('hex'),
  REDIS_PASSWORD: randomBytes(24).toString('hex'),
  JWT_SECRET: randomBytes(48).toString('base64'),
  MASTER_KEY: randomBytes(32).toString('hex'),
  ADMIN_EMAIL: 'admin@hospital.example',
  ADMIN_PASSWORD: 'a long enough operator passphrase',
};
const services: Record<string, Service> = interpolated(parse(composeText, { merge: true }).services, operatorEnv);
const serviceNames = Object.keys(services);
const envOf = (name: string) => Object.fromEntries(Object.entries(services[name]!.environment ?? {}).map(([key, value]) => [key, String(value)]));
/** The API nodes: the services that run the server. */
const apiNodes = serviceNames.filter((name) => services[name]!.command?.join(' ').includes('node dist/src/main.js'));
/** Named volume mounted at `target` in a service. */
const volumeAt = (service: string, target: string) =>
  (services[service]!.volumes ?? []).map((entry) => entry.split(':')).find(([, at]) => at === target)?.[0];
const fabricConfig = (file: string) => parse(readFileSync(join(root, 'fabric/config', file), 'utf8'), { merge: true });

describe('docker/compose.yaml (the deployment a hospital runs)', () => {
  it('runs three API nodes, each on Fabric and networked storage with every setting one the app reads and accepts', () => {
    expect(apiNodes).toHaveLength(3);
    const known = new Set(Object.keys(envSchema.shape));
    for (const node of apiNodes) {
      const env = envOf(node);
      expect(Object.keys(env).filter((key) => !known.has(key)), `${node}: variables the app does not read`).toEqual([]);
      expect(env).toMatchObject({ LEDGER: 'fabric', STORAGE: 'networked', NODE_ENV: 'production' });
      const parsed = envSchema.safeParse(env);
      expect(parsed.error?.issues ?? [], node).toEqual([]);
    }
    // One deployment: the same database, cache, ledger identity and channel on every node.
    const shared = (env: Record<string, string>) => Object.fromEntries(Object.entries(env).filter(([key]) => !key.startsWith('ADMIN_')));
    for (const node of apiNodes) expect(shared(envOf(node))).toEqual(shared(envOf(apiNodes[0]!)));
  });

  it('creates the first admin on one node only, which starts (and migrates) before the others', () => {
    const bootstrapping = apiNodes.filter((node) => 'ADMIN_EMAIL' in envOf(node) || 'ADMIN_PASSWORD' in envOf(node));
    expect(bootstrapping).toHaveLength(1);
    const [first] = bootstrapping as [string];
    expect(envOf(first)).toMatchObject({ ADMIN_EMAIL: operatorEnv.ADMIN_EMAIL, ADMIN_PASSWORD: operatorEnv.ADMIN_PASSWORD });
    // It starts once the channel, its chaincode and every node's storage identity are there; the others after it.
    expect(services[first]!.depends_on).toMatchObject({
      'fabric-channel': { condition: 'service_completed_successfully' },
      'storage-peers': { condition: 'service_completed_successfully' },
    });
    for (const node of apiNodes.filter((name) => name !== first)) {
      expect(services[node]!.depends_on?.[first], node).toEqual({ condition: 'service_healthy' });
    }
  });

  it('points every node at its own organization\'s peers, which run here, with the identity the Fabric job hands it', () => {
    for (const node of apiNodes) {
      const env = envOf(node);
      for (const endpoint of env.FABRIC_PEER_ENDPOINTS!.split(',')) {
        const [address, tlsName] = endpoint.trim().split('=') as [string, string | undefined];
        const [host, port] = address.split(':') as [string, string];
        expect(serviceNames, `${node} dials ${host}`).toContain(host);
        const peer = envOf(host);
        expect(peer.CORE_PEER_LISTENADDRESS).toBe(`0.0.0.0:${port}`);
        expect(peer.CORE_PEER_LOCALMSPID).toBe(env.FABRIC_MSP_ID);
        expect(tlsName ?? host).toBe(host);
      }
      // The certificate, key and TLS CA are on the volume the fabric-artifacts job writes them into.
      for (const key of ['FABRIC_CERT', 'FABRIC_KEY', 'FABRIC_TLS_CERT']) {
        const file = env[key]!;
        const mount = (services[node]!.volumes ?? []).find((entry) => file.startsWith(`${entry.split(':')[1]}/`));
        expect(mount, `${node} ${key}`).toBeDefined();
        expect(mount!.split(':')[0]).toBe(volumeAt('fabric-artifacts', services['fabric-artifacts']!.command![2]!));
      }
    }
  });

  it('gives every node its own storage volume and, through storage-peers, the others as STORAGE_PEERS', () => {
    const job = services['storage-peers']!;
    expect(job.command!.slice(0, 2)).toEqual(['node', 'dist/src/storage/cli/storage-peers.js']);
    expect(existsSync(join(root, 'src/storage/cli/storage-peers.ts'))).toBe(true);
    const listed = job.command!.filter((arg) => arg.includes('='));
    const volumes = new Set<string>();
    for (const node of apiNodes) {
      const volume = volumeAt(node, '/data')!;
      expect(volume, `${node} has no volume at /data (its DATA_DIR)`).toBeDefined();
      volumes.add(volume);
      const port = /\/tcp\/(\d+)$/.exec(envOf(node).STORAGE_LISTEN!)![1];
      const entry = listed.find((arg) => arg.startsWith(`${node}:`));
      expect(entry, `storage-peers does not provision ${node}`).toBe(`${node}:${port}=${entry!.split('=')[1]}`);
      expect(volumeAt('storage-peers', entry!.split('=')[1]!)).toBe(volume);
      expect(services[node]!.command!.join(' ')).toContain(`STORAGE_PEERS=$(cat /data/${STORAGE_PEERS_FILE}) && export STORAGE_PEERS && exec node dist/src/main.js`);
    }
    expect(volumes.size).toBe(apiNodes.length);
    expect(listed).toHaveLength(apiNodes.length);
  });

  it('balances over every API node, and only HAProxy publishes a port', () => {
    const haproxy = readFileSync(join(dockerDir, 'haproxy.cfg'), 'utf8');
    const servers = [...haproxy.matchAll(/^\s*server\s+\S+\s+([^:\s]+):(\d+)\s.*\bcheck\b/gm)].map(([, host, port]) => ({ host, port: Number(port) }));
    expect(servers.map((server) => server.host).sort()).toEqual([...apiNodes].sort());
    const appPort = envSchema.parse({}).PORT;
    for (const server of servers) expect(server.port).toBe(Number(envOf(server.host!).PORT ?? appPort));
    expect(haproxy).toMatch(/^\s*option httpchk GET \/health$/m);
    expect(haproxy).toMatch(/^\s*http-check expect status 200$/m);
    expect(haproxy).toMatch(/^\s*timeout check 3s$/m);
    expect(services.haproxy!.volumes).toContain('./haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro');
    expect(serviceNames.filter((name) => services[name]!.ports)).toEqual(['haproxy']);
  });

  it('tells the nodes each client\'s address: HAProxy forwards it, from the one address the nodes trust', () => {
    const haproxy = readFileSync(join(dockerDir, 'haproxy.cfg'), 'utf8');
    expect(haproxy).toMatch(/^\s*option forwardfor$/m);
    const address = (services.haproxy as Service & { networks: { default: { ipv4_address: string } } }).networks.default.ipv4_address;
    const [subnet, prefix] = (parse(composeText).networks.default.ipam.config[0].subnet as string).split('/') as [string, string];
    const network = new BlockList();
    network.addSubnet(subnet, Number(prefix));
    expect(network.check(address), `${address} in ${subnet}/${prefix}`).toBe(true);
    for (const node of apiNodes) expect(envOf(node).TRUST_PROXY, node).toBe(address);
  });

  it('retries a request on another node only where that cannot carry it out twice', () => {
    const haproxy = readFileSync(join(dockerDir, 'haproxy.cfg'), 'utf8');
    expect(haproxy).toMatch(/^\s*option redispatch$/m);
    // A slow answer is never retried (the first node may still be doing the work) ...
    const retryOn = [...haproxy.matchAll(/^\s*retry-on\s+(.*)$/gm)].map(([, keywords]) => keywords!.trim().split(/\s+/));
    expect(retryOn).toEqual([['conn-failure', 'empty-response']]);
    // ... and one that closed without answering is retried for GET and HEAD only (a POST may be a mutation).
    expect(haproxy).toMatch(/^backend nodes\n(?:\s+.*\n)*?\s+http-request disable-l7-retry unless METH_GET$/m);
  });

  it('runs Fabric ' + FABRIC_VERSION + ' images for the orderer, both hospitals\' peers and the jobs, as fabric/config names them', () => {
    const fabricImages = serviceNames.map((name) => services[name]!.image ?? '').filter((image) => image.startsWith('hyperledger/'));
    expect(fabricImages.sort()).toEqual([`hyperledger/fabric-orderer:${FABRIC_VERSION}`, `hyperledger/fabric-peer:${FABRIC_VERSION}`, `hyperledger/fabric-peer:${FABRIC_VERSION}`]);
    const tools = services['fabric-channel']!.build!;
    const toolsDockerfile = readFileSync(join(dockerDir, tools.context, tools.dockerfile), 'utf8');
    expect(toolsDockerfile).toMatch(new RegExp(`^FROM hyperledger/fabric-tools:${FABRIC_VERSION.replaceAll('.', '\\.')}$`, 'm'));

    const configtx = fabricConfig('configtx.yaml');
    const anchors = (configtx.Profiles.HealthLedgerChannel.Application.Organizations as Array<{ ID: string; AnchorPeers: Array<{ Host: string; Port: number }> }>).flatMap(
      (org) => org.AnchorPeers.map((anchor) => ({ msp: org.ID, address: `${anchor.Host}:${anchor.Port}` })),
    );
    const peers = serviceNames.filter((name) => services[name]!.image?.startsWith('hyperledger/fabric-peer:'));
    // Each anchor peer runs here under its own name, gossiping at exactly that address.
    expect(peers.map((peer) => ({ msp: envOf(peer).CORE_PEER_LOCALMSPID, address: envOf(peer).CORE_PEER_GOSSIP_EXTERNALENDPOINT })).sort((a, b) => a.msp!.localeCompare(b.msp!))).toEqual(anchors);
    for (const peer of peers) {
      const env = envOf(peer);
      expect(env.CORE_PEER_GOSSIP_EXTERNALENDPOINT).toBe(`${peer}:${env.CORE_PEER_LISTENADDRESS!.split(':')[1]}`);
      expect(env).toMatchObject({ CORE_PEER_ID: peer, CORE_PEER_ADDRESS: env.CORE_PEER_GOSSIP_EXTERNALENDPOINT, CORE_PEER_TLS_ENABLED: 'true', CORE_PEER_GATEWAY_ENABLED: 'true' });
    }

    const [orderer] = serviceNames.filter((name) => services[name]!.image?.startsWith('hyperledger/fabric-orderer:')) as [string];
    const ordererEnv = envOf(orderer);
    expect(configtx.Organizations.find((org: { ID: string }) => org.ID === 'OrdererMSP').OrdererEndpoints).toEqual([`${orderer}:${ordererEnv.ORDERER_GENERAL_LISTENPORT}`]);
    expect(configtx.Profiles.HealthLedgerChannel.Orderer.EtcdRaft.Consenters.map((c: { Host: string; Port: number }) => `${c.Host}:${c.Port}`)).toEqual([
      `${orderer}:${ordererEnv.ORDERER_GENERAL_LISTENPORT}`,
    ]);
    expect(ordererEnv).toMatchObject({ ORDERER_GENERAL_BOOTSTRAPMETHOD: 'none', ORDERER_CHANNELPARTICIPATION_ENABLED: 'true', ORDERER_ADMIN_TLS_CLIENTAUTHREQUIRED: 'true' });

    // create-channel.sh's default addresses are these services'.
    const createChannel = readFileSync(join(root, 'fabric/scripts/create-channel.sh'), 'utf8');
    const defaultOf = (variable: string) => new RegExp(`\\$\\{${variable}:-([^}]+)\\}`).exec(createChannel)?.[1];
    expect(defaultOf('ORDERER')).toBe(`${orderer}:${ordererEnv.ORDERER_GENERAL_LISTENPORT}`);
    expect(defaultOf('ORDERER_ADMIN')).toBe(`${orderer}:${ordererEnv.ORDERER_ADMIN_LISTENADDRESS!.split(':')[1]}`);
    expect([defaultOf('PEER_A'), defaultOf('PEER_B')]).toEqual(anchors.map((anchor) => anchor.address));
  });

  it('runs the chaincode server where the package tells the peers to dial it', () => {
    const { address } = JSON.parse(readFileSync(join(root, 'fabric/chaincode-package/connection.json'), 'utf8')) as { address: string };
    const [host, port] = address.split(':') as [string, string];
    expect(serviceNames).toContain(host);
    expect(envOf(host).CHAINCODE_SERVER_ADDRESS).toBe(`0.0.0.0:${port}`);
    // The package id generate-artifacts.sh writes (DIR/chaincode/package-id), on the volume the job writes into.
    const fabricDir = services['fabric-artifacts']!.command![1]!;
    const idFile = envOf(host).CHAINCODE_ID_FILE!;
    const mount = (services[host]!.volumes ?? []).map((entry) => entry.split(':')).find(([, at]) => idFile.startsWith(`${at}/`))!;
    expect(mount[0]).toBe(volumeAt('fabric-artifacts', fabricDir));
    expect(idFile.slice(mount[1]!.length)).toBe('/chaincode/package-id');
    expect(readFileSync(join(root, 'fabric/scripts/generate-artifacts.sh'), 'utf8')).toContain('> "${dir}/chaincode/package-id"');
  });

  it('names only files that exist, and takes every secret from docker/.env, whose example placeholders the app refuses', () => {
    for (const [name, service] of Object.entries(services)) {
      if (service.build) {
        expect(existsSync(join(dockerDir, service.build.context, service.build.dockerfile)), `${name}: ${service.build.dockerfile}`).toBe(true);
      }
      for (const volume of service.volumes ?? []) {
        const source = volume.split(':')[0]!;
        if (source.startsWith('.')) expect(existsSync(join(dockerDir, source)), `${name}: ${source}`).toBe(true);
      }
    }
    for (const script of [services['fabric-artifacts']!.command![0]!, services['fabric-channel']!.command![0]!]) {
      expect(existsSync(join(root, script)), script).toBe(true);
    }

    const required = new Set([...composeText.matchAll(/\$\{([A-Z_][A-Z0-9_]*):\?/g)].map(([, name]) => name));
    expect([...required].sort()).toEqual(Object.keys(example).sort());
    expect(Object.keys(operatorEnv).sort()).toEqual(Object.keys(example).sort());
    // An .env copied and left unedited does not start: the app's own checks refuse the placeholders.
    const unedited = envSchema.safeParse({ JWT_SECRET: example.JWT_SECRET, MASTER_KEY: example.MASTER_KEY });
    expect(unedited.error?.issues.map((issue) => issue.path[0]).sort()).toEqual(['JWT_SECRET', 'MASTER_KEY']);
    expect(example.ADMIN_PASSWORD!.length).toBeLessThan(12);
  });
});

const onPath = (command: string) => (process.env.PATH ?? '').split(delimiter).some((dir) => existsSync(join(dir, command)));
const HAPROXY = ['/usr/sbin/haproxy', '/usr/bin/haproxy'].find((candidate) => existsSync(candidate));

// CI installs docker-compose (Debian's 1.29, which needs no Docker engine for `config`) and sets REQUIRE_COMPOSE.
describe.skipIf(!onPath('docker-compose') && !process.env.REQUIRE_COMPOSE)('docker-compose config', () => {
  const compose = (...args: string[]) => run('docker-compose', ['--project-directory', dockerDir, ...args, '-f', join(dockerDir, 'compose.yaml'), 'config', '-q'], { env: { PATH: process.env.PATH } });

  it('accepts the file with the example .env, and refuses an .env that lacks a secret, naming it', async () => {
    await compose('--env-file', join(dockerDir, '.env.example'));
    const dir = await mkdtemp(join(tmpdir(), 'hl-compose-'));
    try {
      const lacking = join(dir, '.env');
      await writeFile(lacking, Object.entries(example).filter(([key]) => key !== 'JWT_SECRET').map(([key, value]) => `${key}=${value}\n`).join(''));
      await expect(compose('--env-file', lacking)).rejects.toMatchObject({ stderr: expect.stringContaining('set JWT_SECRET in docker/.env') });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!HAPROXY && !process.env.REQUIRE_HAPROXY)('docker/haproxy.cfg', () => {
  it('is a configuration HAProxy accepts, before the node names resolve', async () => {
    const { stdout } = await run(HAPROXY!, ['-c', '-f', join(dockerDir, 'haproxy.cfg')]);
    expect(stdout).toMatch(/Configuration file is valid/);
  });
});
