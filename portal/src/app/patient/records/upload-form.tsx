'use client';

import { useRef, useState, type FormEvent } from 'react';
import { ErrorMessage } from '@/components/error-message';
import type { RecordCategory } from '@/gql/graphql';
import { CATEGORIES, CATEGORY_LABELS } from '@/lib/labels';
import { storedSummary, UploadProgressBar, useRecordUpload } from '@/lib/record-upload';
import { UploadCancelled } from '@/lib/upload';

/** A new record of the patient's own: its metadata through createRecord, then its bytes PUT to the single-use upload URL. */
export function UploadForm({ patientId, onUploaded }: { patientId: string; onUploaded(): void }) {
  const { progress, start, cancel } = useRecordUpload();
  const [title, setTitle] = useState('');
  const [category, setCategory] = useState<RecordCategory>('CLINICAL_NOTE');
  const [file, setFile] = useState<File | null>(null);
  const [message, setMessage] = useState('');
  const [error, setError] = useState<unknown>(null);
  const fileInput = useRef<HTMLInputElement>(null);

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (!file) return;
    setError(null);
    setMessage('');
    try {
      const answer = await start({ patientId, title, category, content: file, contentType: file.type || 'application/octet-stream' });
      setMessage(`Uploaded “${title}” ${storedSummary(answer)}.`);
      setTitle('');
      setFile(null);
      if (fileInput.current) fileInput.current.value = '';
      onUploaded();
    } catch (caught) {
      if (caught instanceof UploadCancelled) setMessage('Upload cancelled: the file was not stored.');
      else setError(caught);
    }
  }

  const busy = progress !== null;
  return (
    <form className="card" onSubmit={submit} aria-labelledby="upload-heading">
      <h2 id="upload-heading">Upload a record</h2>
      <label htmlFor="upload-title">Title</label>
      <input id="upload-title" required value={title} onChange={(e) => setTitle(e.target.value)} disabled={busy} />
      <label htmlFor="upload-category">Category</label>
      <select id="upload-category" value={category} onChange={(e) => setCategory(e.target.value as RecordCategory)} disabled={busy}>
        {CATEGORIES.map((value) => (
          <option key={value} value={value}>
            {CATEGORY_LABELS[value]}
          </option>
        ))}
      </select>
      <label htmlFor="upload-file">File</label>
      <input id="upload-file" ref={fileInput} type="file" required onChange={(e) => setFile(e.target.files?.[0] ?? null)} disabled={busy} />
      {progress ? <UploadProgressBar id="upload-progress" progress={progress} onCancel={cancel} /> : <button type="submit">Upload</button>}
      <p aria-live="polite" className="muted">
        {message}
      </p>
      <ErrorMessage error={error} />
    </form>
  );
}
