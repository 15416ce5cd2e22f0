'use client';

import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { ErrorMessage } from '@/components/error-message';
import { graphql } from '@/gql';
import { formatTime } from '@/lib/labels';
import { useSession } from '@/lib/session';

const BreakGlassMutation = graphql(`
  mutation ClinicianBreakGlass($input: BreakGlassInput!) {
    breakGlass(input: $input) {
      id
      expiresAt
    }
  }
`);

const MyEmergencyAccesses = graphql(`
  query ClinicianEmergencyAccesses($patientId: ID!) {
    emergencyAccesses(patientId: $patientId) {
      id
      reason
      grantedAt
      expiresAt
    }
  }
`);

const MIN_REASON = 10;

/**
 * Break-glass: EMERGENCY read access for up to an hour, with a stated reason. What it means is said
 * before the button (the ledger records it, the patient is told); once granted, a countdown shows the
 * time left of the clinician's latest access to this patient.
 */
export function BreakGlass({ patientId, onBroken }: { patientId: string; onBroken(): void }) {
  const { run } = useSession();
  const [reason, setReason] = useState('');
  const [expiresAt, setExpiresAt] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  const load = useCallback(async () => {
    try {
      const { emergencyAccesses } = await run(MyEmergencyAccesses, { patientId });
      const latest = emergencyAccesses.map((access) => access.expiresAt).sort().at(-1);
      setExpiresAt(latest && Date.parse(latest) > Date.now() ? latest : null);
    } catch (caught) {
      setError(caught);
    }
  }, [run, patientId]);

  useEffect(() => {
    void load();
  }, [load]);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const { breakGlass } = await run(BreakGlassMutation, { input: { patientId, reason: reason.trim() } });
      setExpiresAt(breakGlass.expiresAt);
      setReason('');
      onBroken();
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  }

  return (
    <section className="card break-glass" aria-labelledby="break-glass-heading">
      <h2 id="break-glass-heading">Emergency access (break the glass)</h2>
      {expiresAt ? (
        <Countdown expiresAt={expiresAt} onExpired={() => setExpiresAt(null)} />
      ) : (
        <form onSubmit={submit}>
          <p className="break-glass-notice" id="break-glass-notice">
            For an emergency only. You get read access to this patient’s records for 60 minutes under purpose of use Emergency. It is recorded on the
            ledger, and <strong>the patient is told</strong>: your name, the time and the reason you give appear in their access history.
          </p>
          <label htmlFor="break-glass-reason">Reason (at least {MIN_REASON} characters)</label>
          <textarea
            id="break-glass-reason"
            rows={3}
            required
            minLength={MIN_REASON}
            maxLength={1000}
            aria-describedby="break-glass-notice"
            value={reason}
            onChange={(e) => setReason(e.target.value)}
          />
          <button type="submit" className="danger" disabled={busy || reason.trim().length < MIN_REASON}>
            {busy ? 'Recording…' : 'Break the glass'}
          </button>
        </form>
      )}
      <ErrorMessage error={error} />
    </section>
  );
}

/** Time left, each second; the end time is said in words once, for screen readers (a ticking live region would chatter). */
function Countdown({ expiresAt, onExpired }: { expiresAt: string; onExpired(): void }) {
  const end = Date.parse(expiresAt);
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, []);
  const left = Math.max(0, Math.floor((end - now) / 1000));
  useEffect(() => {
    if (left === 0) onExpired();
  }, [left, onExpired]);
  const minutes = Math.floor(left / 60);
  const seconds = String(left % 60).padStart(2, '0');
  return (
    <div className="countdown">
      <p role="status">Emergency access is active until {formatTime(expiresAt)}. The patient is told of it. Records are read under purpose Emergency.</p>
      <p>
        Time left: <span role="timer" aria-label={`${minutes} minutes left`} className="countdown-clock" data-testid="countdown">{`${minutes}:${seconds}`}</span>
      </p>
    </div>
  );
}
