'use client';

import { useRef, useState } from 'react';
import { graphql } from '@/gql';
import type { RecordCategory } from '@/gql/graphql';
import type { PurposeOfUse } from './api';
import { useSession } from './session';
import { formatBytes, UploadCancelled, uploadFile, type UploadHandle, type UploadProgress } from './upload';

const CreateRecordForUpload = graphql(`
  mutation CreateRecordForUpload($input: CreateRecordInput!) {
    createRecord(input: $input) {
      recordId
      uploadUrl
    }
  }
`);

export interface NewRecord {
  patientId: string;
  title: string;
  category: RecordCategory;
  content: Blob;
  contentType: string;
}

/** What the server answered for the stored bytes, as a sentence's end: "(2.0 KB): anchored on the ledger". */
export function storedSummary(answer: { status: string; size: number }): string {
  return `(${formatBytes(answer.size)}): ${answer.status === 'ANCHORED' ? 'anchored on the ledger' : 'stored, anchoring on the ledger'}`;
}

/**
 * A new record's two steps, as every upload form takes them: createRecord (a clinician's under the
 * purpose of use they chose), then the bytes PUT to the single-use upload URL with progress. `cancel`
 * works in either step: before the bytes move (the record is then left to expire unstored) or during.
 * `start` resolves with the server's answer, or rejects (UploadCancelled when cancelled).
 */
export function useRecordUpload(purpose?: PurposeOfUse) {
  const { run } = useSession();
  const [progress, setProgress] = useState<UploadProgress | null>(null);
  const upload = useRef<UploadHandle | null>(null);
  const cancelRequested = useRef(false);

  async function start(record: NewRecord): Promise<{ status: string; size: number }> {
    setProgress({ loaded: 0, total: record.content.size });
    cancelRequested.current = false;
    try {
      const { patientId, title, category, contentType } = record;
      const { createRecord } = await run(CreateRecordForUpload, { input: { patientId, title, category, contentType } }, purpose ? { purpose } : undefined);
      if (cancelRequested.current) throw new UploadCancelled();
      upload.current = uploadFile(createRecord.uploadUrl, record.content, setProgress);
      return await upload.current.done;
    } finally {
      upload.current = null;
      setProgress(null);
    }
  }

  function cancel() {
    cancelRequested.current = true;
    upload.current?.cancel();
  }

  return { progress, start, cancel };
}

/** An upload's progress bar (`id` names it for its label) and its cancel button. */
export function UploadProgressBar({ id, progress, onCancel }: { id: string; progress: UploadProgress; onCancel(): void }) {
  const percent = progress.total > 0 ? Math.round((progress.loaded / progress.total) * 100) : 0;
  return (
    <div className="progress">
      <label htmlFor={id}>Uploading: {percent}%</label>
      <progress id={id} max={progress.total || 1} value={progress.loaded} />
      <button type="button" onClick={onCancel}>
        Cancel upload
      </button>
    </div>
  );
}
