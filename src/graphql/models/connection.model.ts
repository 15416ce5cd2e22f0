import type { Type } from '@nestjs/common';
import { Field, Int, ObjectType, type ReturnTypeFuncValue } from '@nestjs/graphql';
import { PageInfo } from './page-info.model.js';

/** What a connection resolver answers (src/common/list-page.ts builds it for lists held whole). */
export interface ConnectionShape<T> {
  edges: Array<{ cursor: string; node: T }>;
  pageInfo: PageInfo;
  totalCount: number;
}

/**
 * The Relay connection every list query of the API answers (the contract's list convention): declares
 * `<name>Edge { cursor node }` and returns the base of `<name>Connection { edges pageInfo totalCount }`,
 * which each module declares with its own description (Nest's generic object type pattern):
 *
 *   @ObjectType({ description: '…' }) export class UserConnection extends Connection<User>('User', () => User) {}
 */
export function Connection<T>(name: string, node: () => ReturnTypeFuncValue, options: { totalCount?: string } = {}): Type<ConnectionShape<T>> {
  @ObjectType(`${name}Edge`)
  class Edge {
    @Field()
    cursor: string;

    @Field(node)
    node: T;
  }

  @ObjectType({ isAbstract: true })
  abstract class ConnectionBase {
    @Field(() => [Edge])
    edges: Edge[];

    @Field(() => PageInfo)
    pageInfo: PageInfo;

    @Field(() => Int, options.totalCount ? { description: options.totalCount } : {})
    totalCount: number;
  }
  return ConnectionBase as unknown as Type<ConnectionShape<T>>;
}
