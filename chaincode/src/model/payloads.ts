import { badInput } from '../lib/errors';
import { FieldReader } from '../lib/input';
import { parseInstant } from '../lib/time';
import type { ConsentGrantee } from '../policy';
import { CONSENT_ACTIONS, PURPOSES, RECORD_CATEGORIES, ROLES } from '../policy';
import {
  CONSENT_GRANT_TYPE,
  CONSENT_REVOKE_TYPE,
  KEY_ROTATION_TYPE,
  type ConsentGrantPayload,
  type ConsentRevokePayload,
  type KeyRotationPayload,
} from './ledger-types';

/**
 * Strict parsers for the payloads a user signs. The chaincode verifies signatures over
 * `canonicalJsonBytes(parsed payload)`; the API can call the same parsers before asking the patient
 * to sign, so a payload it builds is one the ledger accepts. Errors are `BAD_USER_INPUT: ...`.
 */
export function parseConsentGrantPayload(value: unknown): ConsentGrantPayload {
  const fields = FieldReader.of(value, 'consent', [
    'type',
    'consentId',
    'patientId',
    'grantee',
    'scope',
    'actions',
    'purposes',
    'validFrom',
    'validUntil',
    'issuedAt',
  ]);
  const granteeFields = fields.object('grantee', ['userId', 'organizationId', 'role', 'attributes']);
  const grantee: ConsentGrantee = {
    userId: granteeFields.optionalId('userId'),
    organizationId: granteeFields.optionalId('organizationId'),
    role: granteeFields.optionalOneOf('role', ROLES),
    attributes: granteeFields.has('attributes') ? granteeFields.attributes('attributes') : undefined,
  };
  if (grantee.userId === undefined && grantee.organizationId === undefined && grantee.role === undefined) {
    throw badInput('consent.grantee must name a userId, an organizationId or a role');
  }
  const scopeFields = fields.object('scope', ['recordIds', 'categories']);
  const scope = {
    recordIds: scopeFields.idList('recordIds', { nonEmpty: false }),
    categories: scopeFields.enumList('categories', RECORD_CATEGORIES, { nonEmpty: false }),
  };
  if (scope.recordIds.length === 0 && scope.categories.length === 0) {
    throw badInput('consent.scope must list at least one record id or category');
  }
  const payload: ConsentGrantPayload = {
    type: fields.literal('type', CONSENT_GRANT_TYPE),
    consentId: fields.id('consentId'),
    patientId: fields.id('patientId'),
    grantee,
    scope,
    actions: fields.enumList('actions', CONSENT_ACTIONS, { nonEmpty: true }),
    purposes: fields.enumList('purposes', PURPOSES, { nonEmpty: true }),
    validFrom: fields.instant('validFrom'),
    validUntil: fields.instant('validUntil'),
    issuedAt: fields.instant('issuedAt'),
  };
  if ((parseInstant(payload.validUntil) as number) <= (parseInstant(payload.validFrom) as number)) {
    throw badInput('consent.validUntil must be after consent.validFrom');
  }
  if (payload.grantee.userId === payload.patientId) throw badInput('a patient cannot grant consent to themselves');
  return payload;
}

export function parseConsentRevokePayload(value: unknown): ConsentRevokePayload {
  const fields = FieldReader.of(value, 'revocation', ['type', 'consentId', 'patientId', 'issuedAt']);
  return {
    type: fields.literal('type', CONSENT_REVOKE_TYPE),
    consentId: fields.id('consentId'),
    patientId: fields.id('patientId'),
    issuedAt: fields.instant('issuedAt'),
  };
}

export function parseKeyRotationPayload(value: unknown): KeyRotationPayload {
  const fields = FieldReader.of(value, 'rotation', [
    'type',
    'userId',
    'keyVersion',
    'wrappingPublicKey',
    'signingPublicKey',
    'issuedAt',
  ]);
  return {
    type: fields.literal('type', KEY_ROTATION_TYPE),
    userId: fields.id('userId'),
    keyVersion: fields.positiveInteger('keyVersion'),
    wrappingPublicKey: fields.publicKey('wrappingPublicKey'),
    signingPublicKey: fields.publicKey('signingPublicKey'),
    issuedAt: fields.instant('issuedAt'),
  };
}
