/**
 * HealthLedger's own FHIR code systems, identifier systems and extensions, all under one base and
 * documented in docs/fhir.md. Standard systems (HL7, DICOM, IHE) are used wherever one fits; these
 * name only what is HealthLedger's: its ids, categories, error codes, digests and ledger transactions.
 */
export const HEALTHLEDGER_FHIR = 'https://healthledger.dev/fhir';

/** The id of a user (patient, staff) or service account. */
export const PATIENT_ID_SYSTEM = `${HEALTHLEDGER_FHIR}/patient-id`;
export const USER_ID_SYSTEM = `${HEALTHLEDGER_FHIR}/user-id`;
export const ORGANIZATION_ID_SYSTEM = `${HEALTHLEDGER_FHIR}/organization-id`;
export const RECORD_ID_SYSTEM = `${HEALTHLEDGER_FHIR}/record-id`;
/** The contract's RecordCategory enum. */
export const RECORD_CATEGORY_SYSTEM = `${HEALTHLEDGER_FHIR}/CodeSystem/record-category`;
/** SHA-256 (hex) of the stored ciphertext and of the content's CID: what the ledger anchors. Never a plaintext hash. */
export const CIPHERTEXT_SHA256_SYSTEM = `${HEALTHLEDGER_FHIR}/ciphertext-sha256`;
export const CID_SHA256_SYSTEM = `${HEALTHLEDGER_FHIR}/cid-sha256`;
/** The content's IPFS CID. */
export const CID_SYSTEM = `${HEALTHLEDGER_FHIR}/ipfs-cid`;
/** A ledger transaction id (record anchor, consent grant, audit batch root). */
export const LEDGER_TX_SYSTEM = `${HEALTHLEDGER_FHIR}/ledger-tx`;
export const CONSENT_ID_SYSTEM = `${HEALTHLEDGER_FHIR}/consent-id`;
/** The contract's error codes, carried in every OperationOutcome issue. */
export const ERROR_CODE_SYSTEM = `${HEALTHLEDGER_FHIR}/CodeSystem/error-code`;
/** Why a FORBIDDEN refused the caller (REFUSAL_REASONS, docs/errors.md): a second coding beside the error code. */
export const REFUSAL_REASON_SYSTEM = `${HEALTHLEDGER_FHIR}/CodeSystem/refusal-reason`;
export const REQUEST_ID_EXTENSION = `${HEALTHLEDGER_FHIR}/StructureDefinition/request-id`;
export const ROLE_SYSTEM = `${HEALTHLEDGER_FHIR}/CodeSystem/role`;
