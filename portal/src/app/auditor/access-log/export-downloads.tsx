'use client';

import { useState } from 'react';
import { ErrorMessage } from '@/components/error-message';
import { restError } from '@/lib/api';
import { useSession } from '@/lib/session';

const FORMATS = [
  { format: 'ndjson', label: 'NDJSON', file: 'access-log.ndjson' },
  { format: 'fhir', label: 'FHIR AuditEvent Bundle', file: 'access-log.fhir.json' },
] as const;

/**
 * GET /audit/export with the session's bearer token, saved as a file: the route streams the same
 * events the list shows (same visibility), with the list's filters and an optional time window.
 */
export function ExportDownloads({ patientId, recordId }: { patientId: string; recordId: string }) {
  const { fetchAuthorized } = useSession();
  const [since, setSince] = useState('');
  const [until, setUntil] = useState('');
  const [busy, setBusy] = useState('');
  const [message, setMessage] = useState('');
  const [error, setError] = useState<unknown>(null);

  async function download(format: (typeof FORMATS)[number]) {
    setBusy(format.format);
    setError(null);
    setMessage('');
    try {
      const params = new URLSearchParams({ format: format.format });
      if (patientId) params.set('patientId', patientId);
      if (recordId) params.set('recordId', recordId);
      if (since) params.set('since', new Date(since).toISOString());
      if (until) params.set('until', new Date(until).toISOString());
      const response = await fetchAuthorized(`/audit/export?${params.toString()}`);
      if (!response.ok) throw await restError(response);
      const blob = await response.blob();
      const url = URL.createObjectURL(blob);
      const link = document.createElement('a');
      link.href = url;
      link.download = format.file;
      document.body.append(link);
      link.click();
      link.remove();
      // The click has handed the blob to the download; free it once that has started.
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      setMessage(`${format.label} export saved as ${format.file} (${blob.size.toLocaleString()} bytes).`);
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy('');
    }
  }

  return (
    <div className="card export" role="region" aria-labelledby="export-heading">
      <h2 id="export-heading">Export</h2>
      <p className="muted">The events matching the filters above, optionally within a time window.</p>
      <div className="form-grid">
        <div>
          <label htmlFor="export-since">From (optional)</label>
          <input id="export-since" type="datetime-local" value={since} onChange={(e) => setSince(e.target.value)} />
        </div>
        <div>
          <label htmlFor="export-until">Until (optional)</label>
          <input id="export-until" type="datetime-local" value={until} onChange={(e) => setUntil(e.target.value)} />
        </div>
      </div>
      <div className="actions">
        {FORMATS.map((format) => (
          <button key={format.format} type="button" disabled={busy !== ''} onClick={() => void download(format)}>
            {busy === format.format ? 'Preparing…' : `Download ${format.label}`}
          </button>
        ))}
      </div>
      <p aria-live="polite" className="muted">
        {message}
      </p>
      <ErrorMessage error={error} />
    </div>
  );
}
