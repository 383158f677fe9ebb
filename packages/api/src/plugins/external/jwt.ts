import fastifyJwt from '@fastify/jwt';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from '@avatar/shared';

/**
 * Bearer JWTs. Algorithms are pinned to the kind of key configured (so `none` and
 * algorithm-confusion tokens are refused); `exp` and `sub` are required, expiry is enforced.
 */
export const jwtPlugin = fp(async (app: FastifyInstance, opts: { auth: Config['auth'] }) => {
  const { jwtSecret, jwtPublicKey, jwtIssuer } = opts.auth;
  const usePublicKey = jwtPublicKey !== undefined;
  await app.register(fastifyJwt, {
    secret: usePublicKey ? { public: jwtPublicKey } : (jwtSecret as string),
    verify: {
      algorithms: usePublicKey ? ['RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] : ['HS256'],
      requiredClaims: ['sub', 'exp'],
      clockTolerance: 5,
      ...(jwtIssuer ? { allowedIss: jwtIssuer } : {}),
    },
    sign: usePublicKey ? undefined : { algorithm: 'HS256', expiresIn: '1h', ...(jwtIssuer ? { iss: jwtIssuer } : {}) },
  });
});
