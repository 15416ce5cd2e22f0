import { readFileSync } from 'node:fs';
import semver from 'semver';
import { describe, expect, it } from 'vitest';

/**
 * `npm ci` warns EBADENGINE for every installed package whose `engines.node` excludes the running Node,
 * and such a package may not work there. Checked against the oldest release of each Node line the
 * project's own `engines` admits (20.19: what these machines have; 22.13; 24.11, Node 24's first LTS).
 */
const root = JSON.parse(readFileSync('package.json', 'utf8')) as { engines: { node: string } };
const lock = JSON.parse(readFileSync('package-lock.json', 'utf8')) as {
  packages: Record<string, { version?: string; engines?: unknown; os?: string[]; cpu?: string[] }>;
};
const RUNTIMES = root.engines.node.split('||').map((range) => semver.minVersion(range.trim())!.version);

/** Platform binaries npm skips on other systems (sharp's for Windows, say) are never installed here. */
const installedHere = (pkg: { os?: string[]; cpu?: string[] }) =>
  (!pkg.os || pkg.os.includes(process.platform)) && (!pkg.cpu || pkg.cpu.includes(process.arch));

describe('dependency engines', () => {
  it.each(RUNTIMES)('every locked package admits Node %s', (runtime) => {
    const excluded = Object.entries(lock.packages).flatMap(([path, pkg]) => {
      const range = (pkg.engines as { node?: unknown } | undefined)?.node;
      if (typeof range !== 'string' || !installedHere(pkg) || semver.satisfies(runtime, range)) return [];
      return [`${path.replace(/^.*node_modules\//, '')}@${pkg.version} needs node ${range}`];
    });
    expect(excluded, 'pin a version that supports it in package.json "overrides"').toEqual([]);
  });
});
