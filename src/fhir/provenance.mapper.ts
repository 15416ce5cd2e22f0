import type { Provenance, ProvenanceAgent, ProvenanceEntity } from '@medplum/fhirtypes';
import type { RecordVersionView, RecordView } from '../records/record-metadata.cache.js';
import { versionResourceId } from './document-reference.mapper.js';
import { HEALTHLEDGER_FHIR, LEDGER_TX_SYSTEM, USER_ID_SYSTEM } from './fhir-systems.js';

const DATA_OPERATION = 'http://terminology.hl7.org/CodeSystem/v3-DataOperation';
const PROVENANCE_AGENT_TYPE = 'http://terminology.hl7.org/CodeSystem/provenance-participant-type';
/** What the ledger anchor of a version holds: SHA-256 of its ciphertext and of its CID (never a plaintext hash). */
export const LEDGER_ANCHOR_EXTENSION = `${HEALTHLEDGER_FHIR}/StructureDefinition/ledger-anchor`;

/**
 * The provenance of one record version (id `<recordId>-<version>`, as its DocumentReference): created
 * (version 1, by the record's author) or updated (a later version), recorded when anchored (else when
 * stored); the ledger anchor is an entity (`source`, by its transaction id) carrying the anchored
 * digests; the previous version an entity (`revision`). HealthLedger, which anchored it, is the custodian.
 */
export function toProvenance(record: RecordView, version: RecordVersionView): Provenance {
  const id = versionResourceId({ recordId: record.id, version: version.version });
  const agent: ProvenanceAgent[] = [
    ...(version.version === 1
      ? [
          {
            type: { coding: [{ system: PROVENANCE_AGENT_TYPE, code: 'author', display: 'Author' }] },
            who: { identifier: { system: USER_ID_SYSTEM, value: record.createdBy }, ...(record.createdByName ? { display: record.createdByName } : {}) },
          },
        ]
      : []),
    { type: { coding: [{ system: PROVENANCE_AGENT_TYPE, code: 'custodian', display: 'Custodian' }] }, who: { display: 'HealthLedger' } },
  ];
  const entity: ProvenanceEntity[] = [];
  if (version.ledgerTxId) {
    const digests = [
      ...(version.ciphertextSha256 ? [{ url: 'ciphertextSha256', valueString: version.ciphertextSha256 }] : []),
      ...(version.cidSha256 ? [{ url: 'cidSha256', valueString: version.cidSha256 }] : []),
    ];
    entity.push({
      role: 'source',
      what: { identifier: { system: LEDGER_TX_SYSTEM, value: version.ledgerTxId }, display: 'ledger anchor of this version' },
      ...(digests.length ? { extension: [{ url: LEDGER_ANCHOR_EXTENSION, extension: digests }] } : {}),
    });
  }
  if (version.version > 1) {
    entity.push({ role: 'revision', what: { reference: `DocumentReference/${versionResourceId({ recordId: record.id, version: version.version - 1 })}` } });
  }
  return {
    resourceType: 'Provenance',
    id,
    target: [{ reference: `DocumentReference/${id}` }],
    recorded: version.anchoredAt ?? version.createdAt,
    activity: { coding: [{ system: DATA_OPERATION, code: version.version === 1 ? 'CREATE' : 'UPDATE' }] },
    agent,
    ...(entity.length ? { entity } : {}),
  };
}
