'use client';

import { useRef, useState, type FormEvent } from 'react';
import { ErrorMessage } from '@/components/error-message';
import type { RecordCategory } from '@/gql/graphql';
import type { PurposeOfUse } from '@/lib/api';
import { CATEGORIES, CATEGORY_LABELS } from '@/lib/labels';
import { storedSummary, UploadProgressBar, useRecordUpload } from '@/lib/record-upload';
import { UploadCancelled } from '@/lib/upload';

/**
 * A clinical note typed here, or a file (a lab result): createRecord under the chosen purpose, then the
 * bytes PUT to the single-use upload URL. Whether the clinician may write is the API's decision (a
 * consent, or care by the patient's own organization under treatment).
 */
export function WriteRecordForm({ patientId, role, purpose, onWritten }: { patientId: string; role: string; purpose: PurposeOfUse | null; onWritten(): void }) {
  const { progress, start, cancel } = useRecordUpload(purpose ?? undefined);
  const [title, setTitle] = useState('');
  const [category, setCategory] = useState<RecordCategory>(role === 'LAB' ? 'LAB_RESULT' : 'CLINICAL_NOTE');
  const [note, setNote] = useState('');
  const [file, setFile] = useState<File | null>(null);
  const [message, setMessage] = useState('');
  const [error, setError] = useState<unknown>(null);
  const fileInput = useRef<HTMLInputElement>(null);

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (!purpose) return;
    const content: Blob | null = file ?? (note.trim() ? new Blob([note], { type: 'text/plain' }) : null);
    if (!content) return setError(new Error('Type a note or choose a file.'));
    setError(null);
    setMessage('');
    try {
      const answer = await start({ patientId, title, category, content, contentType: file ? file.type || 'application/octet-stream' : 'text/plain' });
      setMessage(`Saved “${title}” ${storedSummary(answer)}.`);
      setTitle('');
      setNote('');
      setFile(null);
      if (fileInput.current) fileInput.current.value = '';
      onWritten();
    } catch (caught) {
      if (caught instanceof UploadCancelled) setMessage('Cancelled: nothing was stored.');
      else setError(caught);
    }
  }

  const busy = progress !== null;
  return (
    <form className="card" onSubmit={submit} aria-labelledby="write-heading">
      <h2 id="write-heading">Write a record</h2>
      {!purpose && <p className="help">Choose the purpose of use first.</p>}
      <label htmlFor="write-title">Title</label>
      <input id="write-title" required value={title} onChange={(e) => setTitle(e.target.value)} disabled={busy || !purpose} />
      <label htmlFor="write-category">Category</label>
      <select id="write-category" value={category} onChange={(e) => setCategory(e.target.value as RecordCategory)} disabled={busy || !purpose}>
        {CATEGORIES.map((value) => (
          <option key={value} value={value}>
            {CATEGORY_LABELS[value]}
          </option>
        ))}
      </select>
      <label htmlFor="write-note">Note</label>
      <textarea id="write-note" rows={5} value={note} onChange={(e) => setNote(e.target.value)} disabled={busy || !purpose || file !== null} />
      <label htmlFor="write-file">Or a file (a lab result, a scan)</label>
      <input id="write-file" ref={fileInput} type="file" onChange={(e) => setFile(e.target.files?.[0] ?? null)} disabled={busy || !purpose} />
      {progress ? (
        <UploadProgressBar id="write-progress" progress={progress} onCancel={cancel} />
      ) : (
        <button type="submit" disabled={!purpose}>
          Save record
        </button>
      )}
      <p aria-live="polite" className="muted">
        {message}
      </p>
      <ErrorMessage error={error} />
    </form>
  );
}
