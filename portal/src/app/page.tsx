'use client';

import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useEffect, useState, type FormEvent } from 'react';
import { ErrorMessage } from '@/components/error-message';
import { roleHome } from '@/lib/role-home';
import { useSession } from '@/lib/session';

export default function SignInPage() {
  const { state, signIn } = useSession();
  const router = useRouter();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  const home = state.status === 'signed-in' ? roleHome(state.user.role) : null;
  useEffect(() => {
    if (home) router.replace(home);
  }, [home, router]);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await signIn(email, password);
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  }

  if (state.status === 'restoring') return <p aria-live="polite">Loading…</p>;
  if (state.status === 'signed-in') {
    return (
      <section>
        <h1>Welcome, {state.user.name}</h1>
        <p>{home ? 'Opening your records…' : 'The pages for your role are not in the portal yet; the API and the GraphQL IDE at /graphql serve them.'}</p>
      </section>
    );
  }
  return (
    <section className="narrow">
      <h1>Sign in</h1>
      <form onSubmit={submit} aria-describedby="sign-in-error">
        <label htmlFor="email">Email</label>
        <input id="email" type="email" autoComplete="username" required value={email} onChange={(e) => setEmail(e.target.value)} />
        <label htmlFor="password">Password</label>
        <input id="password" type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
        <button type="submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        <div id="sign-in-error">
          <ErrorMessage error={error} />
        </div>
      </form>
      <p>
        Forgot your password? <Link href="/recover/">Recover your account</Link>
      </p>
      <p>
        New here? <Link href="/register/">Create a patient account</Link>
      </p>
    </section>
  );
}
