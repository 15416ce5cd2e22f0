import { Args, Int, Query, Resolver } from '@nestjs/graphql';
import { Authenticated } from '../access/public.decorator.js';
import { Ctx } from '../common/ctx.decorator.js';
import type { RequestContext } from '../common/request-context.js';
import { DirectoryService } from './directory.service.js';
import { DirectoryConnection, DirectoryEntryKind } from './models/directory.model.js';

@Resolver()
export class DirectoryResolver {
  constructor(private readonly directoryService: DirectoryService) {}

  @Query(() => DirectoryConnection, {
    description:
      'People (DOCTOR, NURSE, LAB, RESEARCHER; never patients, administrators or auditors) and organizations whose name contains `query` (2–100 characters, case-insensitive), by name: name, role and organization only. Signed-in users; not service accounts',
  })
  @Authenticated('signed-in users find consent grantees by name; the service refuses service accounts and lists no patient')
  directory(
    @Ctx() ctx: RequestContext,
    @Args('query') query: string,
    @Args('kind', { type: () => DirectoryEntryKind, nullable: true }) kind: DirectoryEntryKind | null,
    @Args('first', { type: () => Int, nullable: true, defaultValue: 20 }) first: number,
    @Args('after', { type: () => String, nullable: true }) after: string | null,
  ): Promise<DirectoryConnection> {
    return this.directoryService.search(ctx, query, kind, first, after);
  }
}
