'use client';

import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useState, type FormEvent } from 'react';
import { ErrorMessage } from '@/components/error-message';
import { RecoveryCodeNotice } from '@/components/recovery-code';
import { roleHome } from '@/lib/role-home';
import { useSession } from '@/lib/session';

/**
 * Lost password: the recovery code unseals the account's keys and a new password seals them again, so
 * no record is lost. The code is spent: a new one is shown once, like at registration.
 */
export default function RecoverPage() {
  const { state, recover } = useSession();
  const router = useRouter();
  const [email, setEmail] = useState('');
  const [recoveryCode, setRecoveryCode] = useState('');
  const [newPassword, setNewPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [newCode, setNewCode] = useState<string | null>(null);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      setNewCode(await recover({ email, recoveryCode, newPassword }));
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  }

  if (newCode !== null) {
    const home = state.status === 'signed-in' ? roleHome(state.user.role) : null;
    return (
      <RecoveryCodeNotice
        code={newCode}
        title="Your password is changed: save your new recovery code"
        intro="Your old recovery code no longer works, and every other session of your account was signed out. This new code is the only way back if you forget your password again."
        continueLabel={home ? 'Continue to my records' : 'Continue'}
        onContinue={() => router.replace(home ?? '/')}
      />
    );
  }

  return (
    <section className="narrow">
      <h1>Recover your account</h1>
      <p>Forgot your password? The recovery code you saved when you created your account lets you choose a new one and keeps all your records.</p>
      <form onSubmit={submit} aria-describedby="recover-error">
        <label htmlFor="email">Email</label>
        <input id="email" type="email" autoComplete="username" required value={email} onChange={(e) => setEmail(e.target.value)} />
        <label htmlFor="recovery-code">Recovery code</label>
        <input
          id="recovery-code"
          autoComplete="off"
          autoCapitalize="characters"
          spellCheck={false}
          required
          aria-describedby="recovery-code-help"
          value={recoveryCode}
          onChange={(e) => setRecoveryCode(e.target.value)}
        />
        <p id="recovery-code-help" className="help">
          32 letters and digits, in groups of four; dashes, spaces and letter case do not matter.
        </p>
        <label htmlFor="new-password">New password</label>
        <input
          id="new-password"
          type="password"
          autoComplete="new-password"
          required
          minLength={12}
          aria-describedby="new-password-help"
          value={newPassword}
          onChange={(e) => setNewPassword(e.target.value)}
        />
        <p id="new-password-help" className="help">
          At least 12 characters, not a common password, not containing your email.
        </p>
        <button type="submit" disabled={busy}>
          {busy ? 'Recovering your keys…' : 'Set new password'}
        </button>
        <div id="recover-error">
          <ErrorMessage error={error} />
        </div>
      </form>
      <p>
        Remembered it? <Link href="/">Sign in</Link>
      </p>
    </section>
  );
}
