import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

/**
 * fabric/config is what a hospital creates its channel from (`configtxgen`, `cryptogen`). No Fabric binary
 * runs on CI machines, so what a real network showed is pinned here: on a channel whose organizations
 * declare no anchor peers, no peer learns of the other hospital's, the gateway cannot gather the two
 * endorsements the Endorsement policy needs, and every submit fails.
 */
const configDir = resolve(import.meta.dirname, '../../fabric/config');

interface Organization {
  Name: string;
  ID: string;
  MSPDir: string;
  AnchorPeers?: Array<{ Host: string; Port: number }>;
  Policies: Record<string, { Type: string; Rule: string }>;
}

async function load(file: string) {
  return parse(await readFile(resolve(configDir, file), 'utf8'), { merge: true });
}

describe('fabric/config (the channel as shipped)', () => {
  it('gives every application organization an anchor peer that cryptogen issues, each at its own address', async () => {
    const configtx = await load('configtx.yaml');
    const crypto = await load('crypto-config.yaml');
    const organizations: Organization[] = configtx.Profiles.HealthLedgerChannel.Application.Organizations;
    expect(organizations.map((org) => org.Name)).toEqual(['HospitalAMSP', 'HospitalBMSP']);

    const peerHosts = (crypto.PeerOrgs as Array<{ Domain: string; Template: { Count: number } }>).flatMap((org) =>
      Array.from({ length: org.Template.Count }, (_, i) => `peer${i}.${org.Domain}`),
    );
    const addresses = new Set<string>();
    for (const org of organizations) {
      expect(org.AnchorPeers, `${org.Name} declares no AnchorPeers`).toHaveLength(1);
      const [anchor] = org.AnchorPeers!;
      // The anchor is one of the organization's own peers (its TLS certificate names that host).
      expect(peerHosts).toContain(anchor.Host);
      expect(org.MSPDir).toContain(anchor.Host.replace(/^peer\d+\./, ''));
      expect(anchor.Port).toBeGreaterThan(0);
      addresses.add(`${anchor.Host}:${anchor.Port}`);
      // Endorsement by the organization's peers is what the channel's MAJORITY Endorsement counts.
      expect(org.Policies.Endorsement.Rule).toBe(`OR('${org.ID}.peer')`);
    }
    expect(addresses.size).toBe(organizations.length);
    expect(configtx.Profiles.HealthLedgerChannel.Application.Policies.Endorsement.Rule).toBe('MAJORITY Endorsement');
  });

  it('names a Raft consenter that cryptogen issues a TLS certificate for', async () => {
    const configtx = await load('configtx.yaml');
    const crypto = await load('crypto-config.yaml');
    const orderer = crypto.OrdererOrgs[0] as { Domain: string; Specs: Array<{ Hostname: string }> };
    const hosts = orderer.Specs.map((spec) => `${spec.Hostname}.${orderer.Domain}`);
    for (const consenter of configtx.Profiles.HealthLedgerChannel.Orderer.EtcdRaft.Consenters as Array<{ Host: string; ServerTLSCert: string }>) {
      expect(hosts).toContain(consenter.Host);
      expect(consenter.ServerTLSCert).toContain(`/orderers/${consenter.Host}/tls/`);
    }
  });
});
