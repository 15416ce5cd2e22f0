'use client';

import { useRef, useState, type FormEvent } from 'react';
import { ErrorMessage } from '@/components/error-message';
import { graphql } from '@/gql';
import type { RecordCategory } from '@/gql/graphql';
import { CATEGORIES, CATEGORY_LABELS } from '@/lib/labels';
import { useSession } from '@/lib/session';
import { formatBytes, UploadCancelled, uploadFile, type UploadHandle, type UploadProgress } from '@/lib/upload';

const CreateRecord = graphql(`
  mutation PortalCreateRecord($input: CreateRecordInput!) {
    createRecord(input: $input) {
      recordId
      uploadUrl
    }
  }
`);

/** A new record: its metadata through createRecord, then its bytes PUT to the single-use upload URL. */
export function UploadForm({ patientId, onUploaded }: { patientId: string; onUploaded(): void }) {
  const { run } = useSession();
  const [title, setTitle] = useState('');
  const [category, setCategory] = useState<RecordCategory>('CLINICAL_NOTE');
  const [file, setFile] = useState<File | null>(null);
  const [progress, setProgress] = useState<UploadProgress | null>(null);
  const [message, setMessage] = useState('');
  const [error, setError] = useState<unknown>(null);
  const upload = useRef<UploadHandle | null>(null);
  // Cancel can come while the record is still being created, before any byte moves.
  const cancelRequested = useRef(false);
  const fileInput = useRef<HTMLInputElement>(null);

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (!file) return;
    setError(null);
    setMessage('');
    setProgress({ loaded: 0, total: file.size });
    cancelRequested.current = false;
    try {
      const { createRecord } = await run(CreateRecord, {
        input: { patientId, title, category, contentType: file.type || 'application/octet-stream' },
      });
      if (cancelRequested.current) throw new UploadCancelled();
      upload.current = uploadFile(createRecord.uploadUrl, file, setProgress);
      const answer = await upload.current.done;
      setMessage(`Uploaded “${title}” (${formatBytes(answer.size)}): ${answer.status === 'ANCHORED' ? 'anchored on the ledger' : 'stored, anchoring on the ledger'}.`);
      setTitle('');
      setFile(null);
      if (fileInput.current) fileInput.current.value = '';
      onUploaded();
    } catch (caught) {
      if (caught instanceof UploadCancelled) setMessage('Upload cancelled: the file was not stored.');
      else setError(caught);
    } finally {
      upload.current = null;
      setProgress(null);
    }
  }

  const percent = progress && progress.total > 0 ? Math.round((progress.loaded / progress.total) * 100) : 0;
  return (
    <form className="card" onSubmit={submit} aria-labelledby="upload-heading">
      <h2 id="upload-heading">Upload a record</h2>
      <label htmlFor="upload-title">Title</label>
      <input id="upload-title" required value={title} onChange={(e) => setTitle(e.target.value)} disabled={progress !== null} />
      <label htmlFor="upload-category">Category</label>
      <select id="upload-category" value={category} onChange={(e) => setCategory(e.target.value as RecordCategory)} disabled={progress !== null}>
        {CATEGORIES.map((value) => (
          <option key={value} value={value}>
            {CATEGORY_LABELS[value]}
          </option>
        ))}
      </select>
      <label htmlFor="upload-file">File</label>
      <input id="upload-file" ref={fileInput} type="file" required onChange={(e) => setFile(e.target.files?.[0] ?? null)} disabled={progress !== null} />
      {progress === null ? (
        <button type="submit">Upload</button>
      ) : (
        <div className="progress">
          <label htmlFor="upload-progress">Uploading: {percent}%</label>
          <progress id="upload-progress" max={progress.total || 1} value={progress.loaded} />
          <button
            type="button"
            onClick={() => {
              cancelRequested.current = true;
              upload.current?.cancel();
            }}
          >
            Cancel upload
          </button>
        </div>
      )}
      <p aria-live="polite" className="muted">
        {message}
      </p>
      <ErrorMessage error={error} />
    </form>
  );
}
