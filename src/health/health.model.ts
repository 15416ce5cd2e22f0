import { Field, ObjectType, registerEnumType } from '@nestjs/graphql';

export enum HealthState {
  UP = 'up',
  DEGRADED = 'degraded',
  DOWN = 'down',
}
registerEnumType(HealthState, { name: 'HealthState', description: 'up, degraded (serving, with a backend impaired) or down' });

@ObjectType({ description: 'The state of one backend (db, cache, ledger, storage)' })
export class ComponentStatus {
  @Field()
  name: string;

  @Field(() => HealthState)
  status: HealthState;

  @Field({ description: 'What backs it, e.g. pglite, postgres, redis, memory, embedded, fabric' })
  backend: string;

  @Field({ nullable: true })
  error?: string;
}

@ObjectType()
export class HealthStatus {
  @Field(() => HealthState)
  status: HealthState;

  @Field(() => [ComponentStatus])
  components: ComponentStatus[];
}
