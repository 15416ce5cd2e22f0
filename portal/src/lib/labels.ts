import type { RecordCategory } from '@/gql/graphql';

export const CATEGORY_LABELS: Record<RecordCategory, string> = {
  CLINICAL_NOTE: 'Clinical note',
  LAB_RESULT: 'Lab result',
  IMAGING: 'Imaging',
  PRESCRIPTION: 'Prescription',
  DISCHARGE_SUMMARY: 'Discharge summary',
  OTHER: 'Other',
};

export const CATEGORIES = Object.keys(CATEGORY_LABELS) as RecordCategory[];

export function formatTime(iso: string | null | undefined): string {
  return iso ? new Date(iso).toLocaleString() : '—';
}
