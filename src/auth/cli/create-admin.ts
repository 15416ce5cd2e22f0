/**
 * Creates a system administrator: `node dist/src/auth/cli/create-admin.js --email admin@example.org`
 * with the password from ADMIN_PASSWORD or, when that is unset, the first line of standard input
 * (never a command-line argument: those show in `ps`). Uses the same configuration as the server, and
 * works while it runs: with the embedded database it goes through the running server's Unix socket
 * (openLocalToolDatabase), otherwise it opens the database itself. Idempotent: an existing system
 * administrator is left as is.
 *
 * Prints plain lines (the outcome on stdout, problems on stderr) and exits 0 when the administrator
 * exists afterwards, 1 when the database could not be used, 2 on a usage, configuration or input problem.
 */
import 'reflect-metadata';
import { createInterface } from 'node:readline/promises';
import { Logger } from '@nestjs/common';
import { domainCodeOf } from '../../common/domain-error.js';
import { ConfigValidationError, loadAppConfig } from '../../config/app-config.js';
import { openLocalToolDatabase } from '../../database/local-tool-database.js';
import { OrganizationRepository } from '../organization.repository.js';
import { PasswordHasher } from '../password-hasher.js';
import { normalizeEmail, passwordRuleBroken } from '../password-policy.js';
import { SystemAdmins } from '../system-admins.js';
import { UserRepository } from '../user.repository.js';

const USAGE = 'usage: create-admin --email <address>   (password from ADMIN_PASSWORD or the first line of standard input)';

/** A problem the command reports as one line and an exit code, never as a stack. */
class CliProblem extends Error {
  constructor(
    message: string,
    readonly exitCode: 1 | 2,
  ) {
    super(message);
  }
}

async function readPassword(env: NodeJS.ProcessEnv): Promise<{ password: string; source: string }> {
  if (env.ADMIN_PASSWORD) return { password: env.ADMIN_PASSWORD, source: 'ADMIN_PASSWORD' };
  const lines = createInterface({ input: process.stdin, terminal: false });
  if (process.stdin.isTTY) process.stderr.write('Password (at least 12 characters): ');
  for await (const line of lines) {
    lines.close();
    return { password: line, source: 'the password (standard input)' };
  }
  return { password: '', source: 'the password (standard input)' };
}

/** The address and password, checked against the policy before anything is opened; each problem names where the value came from. */
async function readInput(args: string[], env: NodeJS.ProcessEnv): Promise<{ email: string; password: string }> {
  const flag = args.indexOf('--email');
  const [email, emailSource] = flag >= 0 ? [args[flag + 1], '--email'] : [env.ADMIN_EMAIL, 'ADMIN_EMAIL'];
  if (!email || args.some((arg, index) => arg.startsWith('-') && index !== flag)) throw new CliProblem(USAGE, 2);
  try {
    normalizeEmail(email);
  } catch {
    throw new CliProblem(`${emailSource}: must be an email address (for example admin@example.org)`, 2);
  }
  const { password, source } = await readPassword(env);
  const broken = passwordRuleBroken(password, email, emailSource);
  if (broken) throw new CliProblem(`${source}: ${broken}`, 2);
  return { email, password };
}

async function main(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { email, password } = await readInput(args, env);
  // The server's first-start bootstrap must not also act on these variables: this command reports its own outcome.
  const config = await loadAppConfig({ ...env, ADMIN_EMAIL: '', ADMIN_PASSWORD: '' });
  const database = await openLocalToolDatabase(config.database);
  try {
    // The few objects this needs, built by hand: no Nest context, no ledger, storage or cache (a running server
    // holds the embedded ones, and a system administrator's row needs none of them). This command prints its own lines.
    Logger.overrideLogger(false);
    const users = new UserRepository(database.connection, new OrganizationRepository(database.connection));
    const admins = new SystemAdmins(config, new PasswordHasher(config.auth.argon2), users);
    const outcome = await admins.ensure(email, password);
    if (outcome === 'taken') throw new CliProblem(`${email} belongs to an account that is not a system administrator; nothing changed (choose another address)`, 2);
    const via = database.route === 'running server' ? ' (through the running server)' : '';
    process.stdout.write(outcome === 'created' ? `system administrator ${email} created${via}\n` : `system administrator ${email} already exists; nothing changed\n`);
    return 0;
  } finally {
    await database.close();
  }
}

/** One line for each kind of failure: configuration (every bad variable), the database, refused input, anything else. */
function report(error: unknown): number {
  if (error instanceof CliProblem) {
    process.stderr.write(`create-admin: ${error.message}\n`);
    return error.exitCode;
  }
  if (error instanceof ConfigValidationError) {
    for (const problem of error.problems) process.stderr.write(`create-admin: ${problem}\n`);
    return 2;
  }
  // The database out of reach (LocalToolDatabaseError), or the service refusing the input.
  process.stderr.write(`create-admin: ${error instanceof Error ? error.message : String(error)}\n`);
  return domainCodeOf(error) === 'BAD_USER_INPUT' ? 2 : 1;
}

main(process.argv.slice(2), process.env).then(
  (code) => process.exit(code),
  (error: unknown) => process.exit(report(error)),
);
