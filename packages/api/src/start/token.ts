import { createSigner } from 'fast-jwt';
import { exitOnStartupError, loadConfig } from '@avatar/shared';

/**
 * `pnpm token <userId> [--admin] [--ttl 3600]`: prints a bearer token signed with JWT_SECRET
 * on its last line (for the README's curl examples and the acceptance scripts).
 */
function main(argv: string[]): void {
  const config = loadConfig();
  const args = argv.filter((a) => a !== '--');
  const userId = args.find((a) => /^[1-9][0-9]{0,15}$/.test(a));
  const ttlIndex = args.indexOf('--ttl');
  const ttl = ttlIndex >= 0 ? Number(args[ttlIndex + 1]) : 3600;
  if (!userId || !Number.isInteger(ttl) || ttl <= 0) {
    console.error('usage: pnpm token <userId> [--admin] [--ttl seconds]');
    process.exit(2);
  }
  if (!config.auth.jwtSecret) {
    console.error('JWT_SECRET is not set (tokens for a public-key setup are issued by the identity provider)');
    process.exit(2);
  }
  const sign = createSigner({ key: config.auth.jwtSecret, algorithm: 'HS256', expiresIn: ttl * 1000, ...(config.auth.jwtIssuer ? { iss: config.auth.jwtIssuer } : {}) });
  console.log(sign({ sub: userId, role: args.includes('--admin') ? 'admin' : 'user' }));
}

try {
  main(process.argv.slice(2));
} catch (error) {
  exitOnStartupError(error);
}
