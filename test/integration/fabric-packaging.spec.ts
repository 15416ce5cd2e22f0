import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, cp, mkdtemp, readFile, rm, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const fabricDir = resolve(import.meta.dirname, '../../fabric');

describe('fabric/scripts/package-chaincode.sh', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hl-ccpkg-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** Runs the script from a copy of fabric/ so the copy's timestamps and modes can be changed freely. */
  const packageFrom = async (copy: string, output: string, env: Record<string, string> = {}) => {
    const { stdout } = await run('bash', [join(copy, 'scripts/package-chaincode.sh'), output], {
      env: { ...process.env, ...env },
    });
    return stdout.trim();
  };

  it('gives the same package id for the same inputs, whatever their timestamps and modes', async () => {
    const first = join(dir, 'first');
    const second = join(dir, 'second');
    await cp(fabricDir, first, { recursive: true });
    await cp(fabricDir, second, { recursive: true });
    for (const file of ['connection.json', 'metadata.json']) {
      await utimes(join(second, 'chaincode-package', file), new Date('2031-05-05'), new Date('2031-05-05'));
      await chmod(join(second, 'chaincode-package', file), 0o600);
    }
    const idA = await packageFrom(first, join(dir, 'a.tar.gz'));
    await new Promise((r) => setTimeout(r, 1100)); // a different second for anything tar might stamp
    const idB = await packageFrom(second, join(dir, 'b.tar.gz'));

    expect(idA).toMatch(/^healthledger_1\.0:[0-9a-f]{64}$/);
    expect(idB).toBe(idA);
    const digest = createHash('sha256').update(await readFile(join(dir, 'a.tar.gz'))).digest('hex');
    expect(idA).toBe(`healthledger_1.0:${digest}`);
  });

  it('lays the package out as Fabric expects: metadata.json + code.tar.gz holding connection.json', async () => {
    const pkg = join(dir, 'layout.tar.gz');
    await packageFrom(fabricDir, pkg);
    const { stdout: entries } = await run('tar', ['-tzf', pkg]);
    expect(entries.trim().split('\n')).toEqual(['code.tar.gz', 'metadata.json']);
    const { stdout: metadata } = await run('tar', ['-xzOf', pkg, 'metadata.json']);
    expect(JSON.parse(metadata)).toEqual({ type: 'ccaas', label: 'healthledger_1.0' });
    const { stdout: connection } = await run('bash', ['-c', `tar -xzOf '${pkg}' code.tar.gz | tar -xzO connection.json`]);
    expect(JSON.parse(connection)).toEqual({ address: 'healthledger-ccaas:9999', dial_timeout: '10s', tls_required: false });
  });

  it('changes the id when the label or the chaincode address changes', async () => {
    const base = await packageFrom(fabricDir, join(dir, 'base.tar.gz'));
    const moved = await packageFrom(fabricDir, join(dir, 'moved.tar.gz'), { CC_ADDRESS: 'ccaas.hospital-a.example:9999' });
    const relabelled = await packageFrom(fabricDir, join(dir, 'v2.tar.gz'), { CC_LABEL: 'healthledger_2.0' });
    expect(moved).not.toBe(base);
    expect(relabelled).toMatch(/^healthledger_2\.0:/);
    expect(relabelled.split(':')[1]).not.toBe(base.split(':')[1]);
  });

  it('refuses an address that is not host:port', async () => {
    await expect(packageFrom(fabricDir, join(dir, 'bad.tar.gz'), { CC_ADDRESS: 'no-port' })).rejects.toThrow(/host:port/);
  });
});
