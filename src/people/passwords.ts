import bcrypt from 'bcryptjs';

/**
 * Password hashing with bcrypt (bcryptjs: plain JavaScript, so the same code
 * runs on Node and on Workers). Cost 10 by default; HEALTHSCORE_BCRYPT_COST lowers it in tests.
 */
const cost = () => {
  const fromEnv = Number(globalThis.process?.env?.HEALTHSCORE_BCRYPT_COST);
  return Number.isInteger(fromEnv) && fromEnv >= 4 && fromEnv <= 14 ? fromEnv : 10;
};

export const MIN_PASSWORD_LENGTH = 10;
/** bcrypt reads at most 72 bytes; refuse longer ones rather than ignore their tail. */
export const MAX_PASSWORD_BYTES = 72;

export function passwordProblem(password: string): string | undefined {
  if (password.length < MIN_PASSWORD_LENGTH) return `must be at least ${MIN_PASSWORD_LENGTH} characters`;
  if (new TextEncoder().encode(password).length > MAX_PASSWORD_BYTES) return `must be at most ${MAX_PASSWORD_BYTES} bytes`;
  return undefined;
}

export const hashPassword = (password: string) => bcrypt.hash(password, cost());
export const verifyPassword = (password: string, hash: string) => bcrypt.compare(password, hash);

/** A hash to compare against when the email is unknown, so both cases take the same time. */
let dummy: Promise<string> | undefined;
export const dummyHash = () => (dummy ??= bcrypt.hash('not a real password', cost()));

/** A readable random password (for resets and the demo team). */
export function randomPassword(): string {
  const alphabet = 'abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => alphabet[b % alphabet.length]).join('');
}
