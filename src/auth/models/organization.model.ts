import { Field, ID, ObjectType } from '@nestjs/graphql';

@ObjectType({ description: 'A hospital, lab or other organization' })
export class Organization {
  @Field(() => ID)
  id: string;

  @Field()
  name: string;

  @Field({ description: 'X25519 public key (base64url, raw 32 bytes) that data keys are wrapped to for this organization' })
  wrappingPublicKey: string;

  @Field({ description: 'X25519 public key (base64url) of the break-glass emergency key' })
  emergencyPublicKey: string;

  @Field()
  createdAt: Date;
}
