import type { RecordView } from '../record-metadata.cache.js';
import type { MedicalRecord } from './medical-record.model.js';

/** The GraphQL shape of a record view (the view is plain JSON because it passes through the cache). */
export function toMedicalRecord(view: RecordView): MedicalRecord {
  const current = view.versions.find((v) => v.version === view.version);
  return {
    id: view.id,
    patient: { id: view.patientId, name: view.patientName },
    title: view.title,
    category: view.category,
    contentType: view.contentType,
    description: view.description,
    size: current?.size ?? null,
    version: view.version,
    status: view.status,
    cid: current?.cid ?? null,
    createdAt: new Date(view.createdAt),
    createdBy: { id: view.createdBy, name: view.createdByName },
    versions: view.versions.map((v) => ({
      version: v.version,
      cid: v.cid,
      size: v.size,
      status: v.status,
      createdAt: new Date(v.createdAt),
      anchoredAt: v.anchoredAt ? new Date(v.anchoredAt) : null,
      ledgerTxId: v.ledgerTxId,
    })),
  };
}
