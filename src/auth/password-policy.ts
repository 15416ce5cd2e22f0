import { badInput } from './auth.errors.js';

export const MIN_PASSWORD_LENGTH = 12;
/** Argon2 takes any length, but an upper bound keeps a request from making hashing arbitrarily slow. */
export const MAX_PASSWORD_LENGTH = 256;
const MAX_EMAIL_LENGTH = 254;

/**
 * Passwords of at least 12 characters that show up near the top of breach corpora (shorter ones are
 * refused by length already). A small embedded list, compared case-insensitively: it catches the
 * obvious choices without shipping a multi-megabyte corpus.
 */
const COMMON_PASSWORDS = new Set(
  [
    '123456789012', '1234567890123', '12345678901234', '123456789123', '1234567891011', '111111111111', '000000000000',
    '123123123123', '147258369147', '987654321098', '1q2w3e4r5t6y', '1qaz2wsx3edc', 'q1w2e3r4t5y6', 'qwertyuiop12',
    'qwertyuiopas', 'qwertyuiop123', 'qwerty123456', 'qwertyqwerty', 'asdfghjkl123', 'asdfghjklqwe', 'zxcvbnm12345',
    'password1234', 'password12345', 'password123!', 'passwordpassword', 'password1!password', 'p@ssw0rd1234',
    'p@ssword1234', 'passw0rd1234', 'mypassword123', 'iloveyou1234', 'iloveyouiloveyou', 'letmein12345',
    'welcome12345', 'welcome123!!', 'changeme1234', 'changeme123!', 'administrator', 'administrator1',
    'admin1234567', 'adminadmin123', 'abcdefghijkl', 'abcdefgh1234', 'abc123abc123', 'abcd1234abcd',
    'football1234', 'baseball1234', 'basketball12', 'superman1234', 'princess1234', 'sunshine1234',
    'trustno1trustno1', 'monkey123456', 'dragon123456', 'master123456', 'starwars1234', 'whatever1234',
    'hello1234567', 'helloworld12', 'helloworld123', 'freedom12345', 'computer1234', 'internet1234',
    'correcthorsebatterystaple', 'qazwsxedcrfv', 'zaq12wsxcde3', '1qazxsw23edc', 'passwordqwerty',
    'healthledger', 'healthledger1', 'healthledger123', 'hospital1234', 'doctor123456', 'patient12345',
    'summer202020', 'winter202020', 'spring202020', 'autumn202020', 'january12345', 'secret123456',
  ].map((password) => password.toLowerCase()),
);

/** Trimmed email, or BAD_USER_INPUT if it is not a plausible address. Uniqueness is case-insensitive elsewhere. */
export function normalizeEmail(input: string): string {
  const email = typeof input === 'string' ? input.trim() : '';
  // Deliberately simple: one @, no spaces, a dot in the domain. Deliverability is not checked here.
  if (email.length === 0 || email.length > MAX_EMAIL_LENGTH || !/^[^\s@]+@[^\s@]+\.[^\s@.]+$/.test(email)) {
    throw badInput('email must be a valid email address (for example name@example.org)', { field: 'email' });
  }
  return email;
}

/** The cache/lookup key of an email: case-insensitive. */
export function emailKey(email: string): string {
  return email.trim().toLowerCase();
}

/**
 * The rule a password breaks, as what it must be ("must be at least 12 characters long"), or undefined when it
 * is acceptable (NIST SP 800-63B style: length and blocklist, no composition rules). `emailName` names the
 * address it is compared with where the answer mentions it: the API says "your email address", the
 * configuration names its variable (ADMIN_EMAIL). Pure, so configuration validation applies the same policy.
 */
export function passwordRuleBroken(password: string, email?: string, emailName = 'your email address'): string | undefined {
  if (typeof password !== 'string' || password.length < MIN_PASSWORD_LENGTH) return `must be at least ${MIN_PASSWORD_LENGTH} characters long`;
  if (password.length > MAX_PASSWORD_LENGTH) return `must be at most ${MAX_PASSWORD_LENGTH} characters long`;
  const lower = password.normalize('NFKC').toLowerCase();
  if (COMMON_PASSWORDS.has(lower)) return 'is too common; choose a longer, less predictable one';
  if (new Set(lower).size <= 2) return 'must not repeat the same one or two characters';
  if (email) {
    const address = emailKey(email);
    const localPart = address.split('@')[0] ?? '';
    if (lower.includes(address)) return `must not contain ${emailName}`;
    if (localPart.length >= 4 && lower.includes(localPart)) return `must not contain the local part of ${emailName} (before the @)`;
  }
  return undefined;
}

/** Why a password is refused, as the API says it ("password must …"), or undefined when it is acceptable. */
export function passwordProblem(password: string, email?: string): string | undefined {
  const broken = passwordRuleBroken(password, email);
  return broken && `password ${broken}`;
}

export function requireAcceptablePassword(password: string, email?: string, field = 'password'): void {
  const problem = passwordProblem(password, email);
  if (problem) throw badInput(problem, { field });
}

export function requireName(input: string): string {
  const name = typeof input === 'string' ? input.trim() : '';
  if (name.length === 0 || name.length > 200) throw badInput('name must be 1-200 characters', { field: 'name' });
  return name;
}
