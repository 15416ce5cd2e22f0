import 'reflect-metadata';
import { Controller, Get, type INestApplication } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RestExceptionFilter } from '../common/rest-exception.filter.js';
import { MetricsService } from '../observability/metrics.service.js';
import { DeclaredPolicyGuard } from './declared-policy.guard.js';
import { Public } from './public.decorator.js';
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
}

@Public('whole controller is public')
@Controller('public-class')
class PublicClassController {
  @Get()
  get() {
    return { ok: true };
  }
}

describe('DeclaredPolicyGuard (deny by default)', () => {
  let app: INestApplication;
  let url: string;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({
      controllers: [ProbeController, PublicClassController],
      providers: [{ provide: APP_GUARD, useClass: DeclaredPolicyGuard }, MetricsService],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    app.useGlobalFilters(new RestExceptionFilter(app.get(MetricsService)));
    await app.listen(0, '127.0.0.1');
    url = `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}`;
  });
  afterAll(async () => {
    await app.close();
  });

  it('lets a handler that declares itself public through', async () => {
    expect((await fetch(`${url}/probe/open`)).status).toBe(200);
    expect((await fetch(`${url}/public-class`)).status).toBe(200);
  });

  it('refuses a handler that declares no policy, for everyone', async () => {
    const response = await fetch(`${url}/probe/forgotten`, { headers: { authorization: 'Bearer anything' } });
    expect(response.status).toBe(403);
    const body = await readJson(response);
    expect(body.error.code).toBe('FORBIDDEN');
    expect(JSON.stringify(body)).not.toContain('should never be returned');
  });
});
