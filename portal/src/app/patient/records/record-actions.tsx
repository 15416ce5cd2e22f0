'use client';

import { useState } from 'react';
import { ErrorMessage } from '@/components/error-message';
import { graphql } from '@/gql';
import type { VerifyPortalRecordQuery } from '@/gql/graphql';
import { formatTime } from '@/lib/labels';
import { useSession } from '@/lib/session';

const RecordDownload = graphql(`
  query PortalRecordDownload($id: ID!) {
    record(id: $id) {
      id
      downloadUrl
    }
  }
`);

const VerifyRecord = graphql(`
  query VerifyPortalRecord($id: ID!) {
    verifyRecord(id: $id) {
      valid
      cidMatches
      contentHashMatches
      anchoredAt
      ledgerTxId
      problems
    }
  }
`);

type Verification = VerifyPortalRecordQuery['verifyRecord'];

/** Download (a fresh single-use URL each time) and verification against the ledger for one record. */
export function RecordActions({ record }: { record: { id: string; title: string; status: string } }) {
  const { run } = useSession();
  const [verification, setVerification] = useState<Verification | null>(null);
  const [busy, setBusy] = useState<'download' | 'verify' | null>(null);
  const [error, setError] = useState<unknown>(null);

  async function download() {
    setBusy('download');
    setError(null);
    try {
      const answer = await run(RecordDownload, { id: record.id });
      const url = answer.record?.downloadUrl;
      if (!url) throw new Error('This record has no content yet.');
      const link = document.createElement('a');
      link.href = url;
      link.download = record.title;
      link.click();
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(null);
    }
  }

  async function verify() {
    setBusy('verify');
    setError(null);
    try {
      setVerification((await run(VerifyRecord, { id: record.id })).verifyRecord);
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(null);
    }
  }

  const label = `“${record.title}”`;
  return (
    <div>
      <div className="actions">
        <button type="button" onClick={() => void download()} disabled={busy !== null || record.status === 'PENDING'} aria-label={`Download ${label}`}>
          {busy === 'download' ? 'Preparing…' : 'Download'}
        </button>
        <button type="button" onClick={() => void verify()} disabled={busy !== null || record.status === 'PENDING'} aria-label={`Verify ${label} against the ledger`}>
          {busy === 'verify' ? 'Verifying…' : 'Verify'}
        </button>
      </div>
      <ErrorMessage error={error} />
      {verification && <VerificationResult verification={verification} />}
    </div>
  );
}

/** What verifyRecord compared, in words: the stored content's identifier and ciphertext hash against the ledger anchor. */
function VerificationResult({ verification: v }: { verification: Verification }) {
  return (
    <div className={`verification ${v.valid ? 'ok' : 'bad'}`} role="status" data-testid="verification">
      <p>
        <strong>{v.valid ? 'Verified: the stored file matches the ledger.' : 'Not verified: the stored file does not match the ledger.'}</strong>
      </p>
      <ul>
        <li>Content identifier (CID) recomputed from storage {v.cidMatches ? 'matches' : 'does not match'} the one anchored on the ledger.</li>
        <li>SHA-256 of the encrypted content {v.contentHashMatches ? 'matches' : 'does not match'} the anchored hash.</li>
        <li>Anchored at: {formatTime(v.anchoredAt)}</li>
        <li>
          Ledger transaction: <code className="wrap">{v.ledgerTxId ?? 'not anchored yet'}</code>
        </li>
        {v.problems.map((problem) => (
          <li key={problem}>Problem: {problem}</li>
        ))}
      </ul>
    </div>
  );
}
