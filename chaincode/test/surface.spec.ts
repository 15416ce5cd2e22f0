import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONTRACT_NAMES, contracts } from '../src';
import { TestLedger } from './support/test-ledger';

/**
 * The chaincode's public surface as clients (gateway, embedded ledger) address it. A change here is
 * an API change: the snapshot makes it show in review.
 */
describe('chaincode surface', () => {
  it('exposes these transactions, with submit/evaluate declared as intended', () => {
    const metadata = new TestLedger().metadata;
    const surface = Object.fromEntries(
      Object.values(CONTRACT_NAMES).map((name) => [
        name,
        metadata.contracts[name].transactions.map((tx) => `${tx.tag?.[0]} ${tx.name}(${(tx.parameters ?? []).map((p) => p.name).join(', ')})`),
      ]),
    );
    expect(surface).toEqual({
      identity: [
        'SUBMIT RegisterOrganization(organizationJson)',
        'SUBMIT RegisterUser(userJson)',
        'SUBMIT RegisterServiceAccount(serviceAccountJson)',
        'SUBMIT RevokeServiceAccount(serviceAccountId)',
        'SUBMIT RotateUserKeys(rotationJson, signature)',
        'EVALUATE GetOrganization(organizationId)',
        'EVALUATE GetUser(userId)',
        'EVALUATE GetServiceAccount(serviceAccountId)',
      ],
      records: [
        'SUBMIT AnchorRecordVersion(anchorJson)',
        'SUBMIT AnchorRecordVersions(anchorsJson)',
        'EVALUATE GetRecordAnchor(recordId, version)',
        'EVALUATE GetRecordHistory(recordId)',
      ],
      consent: [
        'SUBMIT GrantConsent(payloadJson, signature)',
        'SUBMIT RevokeConsent(payloadJson, signature)',
        'EVALUATE GetConsent(consentId)',
        'EVALUATE GetPatientConsents(patientId)',
        'EVALUATE GetRevokedConsents()',
        'EVALUATE GetConsentHistory(consentId)',
        'SUBMIT RecordEmergencyAccess(requestJson)',
        'EVALUATE GetPatientEmergencyAccesses(patientId)',
        'EVALUATE CheckAccess(userId, recordId, action, purpose)',
      ],
      audit: [
        'SUBMIT AnchorAuditBatch(chainId, batchId, merkleRoot, treeSize, previousRoot)',
        'EVALUATE GetAuditBatch(batchId)',
        'EVALUATE GetLatestAuditRoot(chainId)',
      ],
    });
    expect(contracts.map((contract) => new contract().getName())).toEqual(['identity', 'records', 'consent', 'audit']);
  });

  it('uses no source of non-determinism in the chaincode sources', () => {
    const forbidden = [/Date\.now\s*\(/, /Math\.random\s*\(/, /new Date\(\s*\)/, /randomUUID|randomBytes|getRandomValues/, /process\.env/, /setTimeout|setInterval/];
    const offenders: string[] = [];
    for (const file of sourceFiles(join(__dirname, '..', 'src'))) {
      const text = readFileSync(file, 'utf8');
      for (const pattern of forbidden) if (pattern.test(text)) offenders.push(`${file}: ${pattern}`);
    }
    expect(offenders).toEqual([]);
  });
});

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}
