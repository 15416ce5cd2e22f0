'use client';

import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { graphql } from '@/gql';
import type { TypedDocumentString } from '@/gql/graphql';
import { ApiError, executeOperation, type OperationOptions } from './api';

const LoginMutation = graphql(`
  mutation PortalLogin($email: String!, $password: String!) {
    login(email: $email, password: $password, sessionCookie: true) {
      accessToken
      expiresAt
    }
  }
`);

const RegisterMutation = graphql(`
  mutation PortalRegister($input: RegisterInput!) {
    register(input: $input, sessionCookie: true) {
      accessToken
      expiresAt
      recoveryCode
    }
  }
`);

const RecoverMutation = graphql(`
  mutation PortalRecoverAccount($email: String!, $recoveryCode: String!, $newPassword: String!) {
    recoverAccount(email: $email, recoveryCode: $recoveryCode, newPassword: $newPassword, sessionCookie: true) {
      accessToken
      expiresAt
      recoveryCode
    }
  }
`);

const LogoutMutation = graphql(`
  mutation PortalLogout {
    logout
  }
`);

const MeQuery = graphql(`
  query PortalMe {
    me {
      id
      email
      name
      role
      organization {
        id
        name
      }
    }
  }
`);

export type SessionUser = {
  id: string;
  email: string;
  name: string;
  role: string;
  organization?: { id: string; name: string } | null;
};

type SessionState = { status: 'restoring' } | { status: 'signed-out' } | { status: 'signed-in'; user: SessionUser };

interface Session {
  state: SessionState;
  signIn(email: string, password: string): Promise<void>;
  /** Registers and signs in; returns the one-time recovery code for the page to show. */
  register(input: { email: string; password: string; name: string }): Promise<string>;
  /** Sets a new password with the recovery code and signs in; returns the new one-time recovery code (the old one is spent). */
  recover(input: { email: string; recoveryCode: string; newPassword: string }): Promise<string>;
  signOut(): Promise<void>;
  /** Runs an operation as the signed-in user; an expired access token is refreshed (once) and the call repeated. */
  run<TResult, TVariables>(document: TypedDocumentString<TResult, TVariables>, variables: TVariables, options?: OperationOptions): Promise<TResult>;
  /** GET a REST route of this origin as the signed-in user (bearer token, refreshed once on 401); the token itself stays here. */
  fetchAuthorized(path: string): Promise<Response>;
}

const SessionContext = createContext<Session | null>(null);

/**
 * The access token lives in this closure only: not in React state that devtools show, not in any
 * storage. The refresh token never reaches script at all: it is the HttpOnly cookie that only
 * POST /auth/refresh receives. A reload restores the session through that route.
 */
function createTokenStore() {
  let accessToken: string | null = null;
  let refreshing: Promise<boolean> | null = null;

  async function refreshOnce(): Promise<{ accessToken: string; expiresAt: string } | null> {
    const response = await fetch('/auth/refresh', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    if (!response.ok) return null;
    return (await response.json()) as { accessToken: string; expiresAt: string };
  }

  return {
    get: () => accessToken,
    set: (token: string | null) => {
      accessToken = token;
    },
    /**
     * One refresh at a time, across this page and the browser's other tabs (Web Locks): two tabs
     * presenting the same cookie at once would look like a stolen token and end the session.
     */
    refresh(): Promise<boolean> {
      refreshing ??= (async () => {
        try {
          const answer = navigator.locks ? await navigator.locks.request('healthledger-refresh', refreshOnce) : await refreshOnce();
          accessToken = answer?.accessToken ?? null;
          return answer !== null;
        } catch {
          accessToken = null;
          return false;
        } finally {
          refreshing = null;
        }
      })();
      return refreshing;
    },
  };
}

export function SessionProvider({ children }: { children: ReactNode }) {
  const tokens = useRef(createTokenStore()).current;
  const [state, setState] = useState<SessionState>({ status: 'restoring' });

  const loadUser = useCallback(async () => {
    const { me } = await executeOperation(MeQuery, {}, tokens.get());
    setState({ status: 'signed-in', user: me });
  }, [tokens]);

  useEffect(() => {
    let cancelled = false;
    void (async () => {
      const restored = await tokens.refresh();
      if (cancelled) return;
      if (!restored) return setState({ status: 'signed-out' });
      try {
        await loadUser();
      } catch {
        setState({ status: 'signed-out' });
      }
    })();
    return () => {
      cancelled = true;
    };
  }, [tokens, loadUser]);

  const session = useMemo<Session>(
    () => ({
      state,
      async signIn(email, password) {
        const { login } = await executeOperation(LoginMutation, { email, password });
        tokens.set(login.accessToken);
        await loadUser();
      },
      async register(input) {
        const { register } = await executeOperation(RegisterMutation, { input });
        tokens.set(register.accessToken);
        await loadUser();
        return register.recoveryCode ?? '';
      },
      async recover(input) {
        const { recoverAccount } = await executeOperation(RecoverMutation, input);
        tokens.set(recoverAccount.accessToken);
        await loadUser();
        return recoverAccount.recoveryCode ?? '';
      },
      async signOut() {
        try {
          await executeOperation(LogoutMutation, {}, tokens.get());
        } finally {
          tokens.set(null);
          setState({ status: 'signed-out' });
        }
      },
      async run(document, variables, options) {
        try {
          return await executeOperation(document, variables, tokens.get(), options);
        } catch (error) {
          if (!(error instanceof ApiError) || error.code !== 'UNAUTHENTICATED') throw error;
          if (!(await tokens.refresh())) {
            setState({ status: 'signed-out' });
            throw error;
          }
          return executeOperation(document, variables, tokens.get(), options);
        }
      },
      async fetchAuthorized(path) {
        const get = () => fetch(path, { credentials: 'same-origin', headers: { authorization: `Bearer ${tokens.get() ?? ''}` } });
        const response = await get();
        if (response.status !== 401) return response;
        if (!(await tokens.refresh())) {
          setState({ status: 'signed-out' });
          return response;
        }
        return get();
      },
    }),
    [state, tokens, loadUser],
  );

  return <SessionContext.Provider value={session}>{children}</SessionContext.Provider>;
}

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside SessionProvider');
  return session;
}
