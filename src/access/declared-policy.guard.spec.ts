import 'reflect-metadata';
import { Controller, Get, type INestApplication } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import type { NextFunction, Request, Response } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REQUEST_CONTEXT_KEY } from '../common/ctx.decorator.js';
import type { Actor, RequestContext, UserActor } from '../common/request-context.js';
import { RestExceptionFilter } from '../common/rest-exception.filter.js';
import { MetricsService } from '../observability/metrics.service.js';
import { AbilityFactory } from './ability.factory.js';
import { DeclaredPolicyGuard } from './declared-policy.guard.js';
import { Authenticated, Public, RequirePermission } from './public.decorator.js';
import { readJson } from '../../test/support/http.js';

@Controller('probe')
class ProbeController {
  @Get('open')
  @Public('test route')
  open() {
    return { ok: true };
  }

  @Get('forgotten')
  forgotten() {
    return { secret: 'should never be returned' };
  }

  @Get('signed-in')
  @Authenticated('any actor; the service decides per record')
  signedIn() {
    return { ok: true };
  }

  @Get('organizations/new')
  @RequirePermission('create', 'Organization')
  createOrganization() {
    return { ok: true };
  }

  @Get('users/new')
  @RequirePermission('create', 'User', 'organization ADMIN')
  createUser() {
    return { ok: true };
  }

  @Get('break-glass')
  @RequirePermission('create', 'EmergencyAccess')
  breakGlass() {
    return { ok: true };
  }
}

@Public('whole controller is public')
@Controller('public-class')
class PublicClassController {
  @Get()
  get() {
    return { ok: true };
  }
}

function user(id: string, role: UserActor['role'], overrides: Partial<UserActor> = {}): UserActor {
  return {
    kind: 'user',
    id,
    role,
    organizationId: 'org-a',
    attributes: {},
    systemAdmin: false,
    tokenId: `token-${id}`,
    sessionId: `session-${id}`,
    sessionKey: Buffer.alloc(32),
    ...overrides,
  };
}

/** Stands in for the authentication middleware: it leaves the named actor's context on the request. */
const ACTORS: Record<string, Actor> = {
  patient: user('patient-1', 'PATIENT'),
  doctor: user('doctor-1', 'DOCTOR'),
  orgAdmin: user('admin-1', 'ADMIN'),
  systemAdmin: user('root', 'ADMIN', { organizationId: null, systemAdmin: true }),
  lab: { kind: 'service', id: 'svc-lab', role: 'LAB', organizationId: 'org-a', attributes: {}, scopes: ['records:create:LAB_RESULT'], tokenId: 't' },
};

describe('DeclaredPolicyGuard (deny by default)', () => {
  let app: INestApplication;
  let url: string;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({
      controllers: [ProbeController, PublicClassController],
      providers: [{ provide: APP_GUARD, useClass: DeclaredPolicyGuard }, AbilityFactory, MetricsService],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    app.use((request: Request, _response: Response, next: NextFunction) => {
      const actor = ACTORS[String(request.headers['x-test-actor'])];
      const ctx: RequestContext = { requestId: 'test', actor, now: new Date() };
      (request as unknown as Record<string, unknown>)[REQUEST_CONTEXT_KEY] = ctx;
      next();
    });
    app.useGlobalFilters(new RestExceptionFilter(app.get(MetricsService)));
    await app.listen(0, '127.0.0.1');
    url = `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}`;
  });
  afterAll(async () => {
    await app.close();
  });

  const get = (path: string, actor?: keyof typeof ACTORS) =>
    fetch(`${url}${path}`, { headers: actor ? { 'x-test-actor': actor } : {} });
  const statusOf = async (path: string, actor?: keyof typeof ACTORS) => (await get(path, actor)).status;

  it('lets a handler that declares itself public through', async () => {
    expect(await statusOf('/probe/open')).toBe(200);
    expect(await statusOf('/public-class')).toBe(200);
  });

  it('refuses a handler that declares no policy, for everyone', async () => {
    for (const actor of [undefined, 'systemAdmin', 'patient'] as const) {
      const response = await get('/probe/forgotten', actor);
      expect(response.status).toBe(403);
      const body = await readJson(response);
      expect(body.error.code).toBe('FORBIDDEN');
      // A handler's own mistake: nothing the caller could change.
      expect(body.error.reason).toBeUndefined();
      expect(JSON.stringify(body)).not.toContain('should never be returned');
    }
  });

  it('@Authenticated: refuses an anonymous caller as UNAUTHENTICATED, lets any actor in', async () => {
    const anonymous = await get('/probe/signed-in');
    expect(anonymous.status).toBe(401);
    expect((await readJson(anonymous)).error.code).toBe('UNAUTHENTICATED');
    expect(await statusOf('/probe/signed-in', 'patient')).toBe(200);
    expect(await statusOf('/probe/signed-in', 'lab')).toBe(200);
  });

  it('@RequirePermission: UNAUTHENTICATED without an actor, FORBIDDEN without the permission', async () => {
    expect(await statusOf('/probe/organizations/new')).toBe(401);
    const doctor = await get('/probe/organizations/new', 'doctor');
    expect(doctor.status).toBe(403);
    // The role alone refuses: the reason says so, and nothing about any target.
    expect((await readJson(doctor)).error).toMatchObject({ code: 'FORBIDDEN', reason: 'ROLE_NOT_ALLOWED' });
    // An organization's ADMIN is not a system administrator.
    expect(await statusOf('/probe/organizations/new', 'orgAdmin')).toBe(403);
    expect(await statusOf('/probe/organizations/new', 'systemAdmin')).toBe(200);
  });

  it('@RequirePermission: an organization ADMIN creates users, a doctor or a patient does not', async () => {
    expect(await statusOf('/probe/users/new', 'orgAdmin')).toBe(200);
    expect(await statusOf('/probe/users/new', 'doctor')).toBe(403);
    expect(await statusOf('/probe/users/new', 'patient')).toBe(403);
    expect(await statusOf('/probe/users/new', 'lab')).toBe(403);
  });

  it('@RequirePermission follows ROLE_PERMISSIONS: break-glass for a DOCTOR, not for a patient or a lab', async () => {
    expect(await statusOf('/probe/break-glass', 'doctor')).toBe(200);
    expect(await statusOf('/probe/break-glass', 'patient')).toBe(403);
    expect(await statusOf('/probe/break-glass', 'lab')).toBe(403);
  });
});
