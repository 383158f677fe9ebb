import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { AppError, pickVariant } from '@avatar/shared';
import type { AppDeps } from '../../deps.js';
import { avatarQuery, problemSchema, redirectSchema, userIdParams } from '../../schemas/upload-schemas.js';

/** GET /v1/users/:userId/avatar?size=N — public: redirects to the variant closest above N. */
export async function getAvatarRoute(app: FastifyInstance, deps: Pick<AppDeps, 'repos'>): Promise<void> {
  const users = deps.repos.userDetail;
  app.withTypeProvider<ZodTypeProvider>().get('/v1/users/:userId/avatar', {
    schema: {
      summary: "Redirect to a user's current avatar",
      params: userIdParams,
      querystring: avatarQuery,
      response: { 302: redirectSchema, '4xx': problemSchema, '5xx': problemSchema },
    },
    // other sites embed avatars with <img>: the redirect must not be blocked as cross-origin
    helmet: { crossOriginResourcePolicy: { policy: 'cross-origin' } },
  }, async (request, reply) => {
    const { userId } = request.params;
    const avatar = await users.findAvatar(userId);
    if (!avatar) {
      if (!(await users.userExists(userId))) throw new AppError('user_not_found', `No user ${userId}`);
      throw new AppError('avatar_not_found', `User ${userId} has no avatar`);
    }
    const variant = pickVariant(avatar.variants, request.query.size);
    const url = variant?.url ?? avatar.avatar;
    if (!url) throw new AppError('avatar_not_found', `User ${userId} has no avatar`);
    // short: a new upload changes the target, and the variant URLs themselves are immutable
    return reply.header('cache-control', 'public, max-age=60').redirect(url, 302);
  });
}
