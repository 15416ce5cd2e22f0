'use client';

import { useState } from 'react';

/**
 * A recovery code, shown once (the server keeps only a seal under it, never the code itself), and a
 * button that stays disabled until the person says they saved it.
 */
export function RecoveryCodeNotice({
  code,
  title,
  intro,
  continueLabel = 'Continue to my records',
  onContinue,
}: {
  code: string;
  title: string;
  intro: string;
  continueLabel?: string;
  onContinue(): void;
}) {
  const [saved, setSaved] = useState(false);
  return (
    <section className="narrow">
      <h1>{title}</h1>
      <p>
        {intro} It is shown <strong>only now</strong>: write it down or store it in a password manager.
      </p>
      <p className="recovery-code" data-testid="recovery-code">
        <code>{code}</code>
      </p>
      <div className="check">
        <input id="saved" type="checkbox" checked={saved} onChange={(e) => setSaved(e.target.checked)} />
        <label htmlFor="saved">I saved my recovery code</label>
      </div>
      <button type="button" disabled={!saved} onClick={onContinue}>
        {continueLabel}
      </button>
    </section>
  );
}
