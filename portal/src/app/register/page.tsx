'use client';

import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useState, type FormEvent } from 'react';
import { ErrorMessage } from '@/components/error-message';
import { RecoveryCodeNotice } from '@/components/recovery-code';
import { useSession } from '@/lib/session';

export default function RegisterPage() {
  const { register } = useSession();
  const router = useRouter();
  const [name, setName] = useState('');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [recoveryCode, setRecoveryCode] = useState<string | null>(null);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      setRecoveryCode(await register({ name, email, password }));
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  }

  if (recoveryCode !== null) {
    return (
      <RecoveryCodeNotice
        code={recoveryCode}
        title="Save your recovery code"
        intro="This code is the only way back to your records if you forget your password."
        onContinue={() => router.replace('/patient/records/')}
      />
    );
  }

  return (
    <section className="narrow">
      <h1>Create a patient account</h1>
      <form onSubmit={submit}>
        <label htmlFor="name">Full name</label>
        <input id="name" autoComplete="name" required value={name} onChange={(e) => setName(e.target.value)} />
        <label htmlFor="email">Email</label>
        <input id="email" type="email" autoComplete="email" required value={email} onChange={(e) => setEmail(e.target.value)} />
        <label htmlFor="password">Password</label>
        <input
          id="password"
          type="password"
          autoComplete="new-password"
          required
          minLength={12}
          aria-describedby="password-help"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
        />
        <p id="password-help" className="help">
          At least 12 characters, not a common password, not containing your email.
        </p>
        <button type="submit" disabled={busy}>
          {busy ? 'Creating your account and keys…' : 'Create account'}
        </button>
        <ErrorMessage error={error} />
      </form>
      <p>
        Already registered? <Link href="/">Sign in</Link>
      </p>
    </section>
  );
}
