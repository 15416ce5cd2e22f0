import type { Purpose } from 'healthledger-chaincode/shared';

/** HL7 v3 ActReason, the code system of purposes of use (AuditEvent.purposeOfEvent, Consent.provision.purpose). */
export const ACT_REASON = 'http://terminology.hl7.org/CodeSystem/v3-ActReason';

/** The app's purposes of use → HL7 v3 ActReason. Break-glass is emergency treatment. */
export const PURPOSE_OF_USE_CODES: Record<Purpose, { code: string; display: string }> = {
  TREATMENT: { code: 'TREAT', display: 'treatment' },
  EMERGENCY: { code: 'ETREAT', display: 'Emergency Treatment' },
  RESEARCH: { code: 'HRESCH', display: 'healthcare research' },
  PAYMENT: { code: 'HPAYMT', display: 'healthcare payment' },
  OPERATIONS: { code: 'HOPERAT', display: 'healthcare operations' },
};

/** The purpose an ActReason code stands for, or undefined. */
export function purposeOfActReason(code: string | undefined): Purpose | undefined {
  return (Object.keys(PURPOSE_OF_USE_CODES) as Purpose[]).find((purpose) => PURPOSE_OF_USE_CODES[purpose].code === code);
}
