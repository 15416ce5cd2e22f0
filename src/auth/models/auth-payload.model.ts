import { Field, ObjectType } from '@nestjs/graphql';
import { User } from './user.model.js';

@ObjectType({ description: 'The result of signing in' })
export class AuthPayload {
  @Field({ description: 'Bearer token for the Authorization header; short-lived' })
  accessToken: string;

  @Field(() => String, {
    nullable: true,
    description:
      'Exchange with refreshToken for a new pair; single use (reuse revokes the session). Null when it was set as the HttpOnly session cookie instead (sessionCookie: true)',
  })
  refreshToken: string | null;

  @Field({ description: 'When accessToken expires' })
  expiresAt: Date;

  @Field(() => User)
  user: User;

  @Field(() => String, {
    nullable: true,
    description: 'Shown once, at registration and after recovery: the only way back to your keys if the password is lost',
  })
  recoveryCode: string | null;
}
