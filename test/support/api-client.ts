import type { TestApp } from './test-app.js';

/** A signed-in user as the tests use it: the token and who it is. */
export interface Auth {
  accessToken: string;
  user: { id: string; organization: { id: string } | null };
}

/**
 * The GraphQL calls most API tests make, over a running test app: `gql` returns `data` or throws
 * with the error's code and message; `login` and `staff` (an admin creates a user, who signs in)
 * give an `Auth`.
 */
export function apiClient(t: () => TestApp, password: string) {
  const headers = (auth: Auth) => ({ authorization: `Bearer ${auth.accessToken}` });
  const gql = async <T>(auth: Auth | undefined, query: string, variables: Record<string, unknown> = {}): Promise<T> => {
    const { body } = await t().graphql<T>(query, variables, auth ? headers(auth) : {});
    if (body.errors?.length) throw new Error(`GraphQL ${body.errors[0]!.extensions.code}: ${body.errors[0]!.message}`);
    return body.data!;
  };
  const login = async (email: string, secret = password): Promise<Auth> =>
    (
      await gql<{ login: Auth }>(
        undefined,
        'mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken user { id organization { id } } } }',
        { e: email, p: secret },
      )
    ).login;
  const staff = async (admin: Auth, email: string, role: string, organizationId: string): Promise<Auth> => {
    await gql(admin, 'mutation($input: CreateUserInput!) { createUser(input: $input) { id } }', {
      input: { email, password, name: `A ${role}`, role, organizationId },
    });
    return login(email);
  };
  return { headers, gql, login, staff };
}
