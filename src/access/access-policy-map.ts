import { RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants.js';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { ACCESS_POLICY_KEY, describeAccessPolicy, type AccessPolicy } from './public.decorator.js';

/** GraphQL handler metadata keys of @nestjs/graphql (not exported from its public entry point). */
const RESOLVER_TYPE_METADATA = 'graphql:resolver_type';
const RESOLVER_NAME_METADATA = 'graphql:resolver_name';

export type AccessPolicyMap = Record<string, string>;

/**
 * Every GraphQL operation and HTTP route of a booted app with the access policy it declares
 * (`undeclared` where it declares none, which the guard refuses). The snapshot of this map in the
 * tests makes every change of who may reach what visible in review.
 */
export function accessPolicyMap(discovery: DiscoveryService, scanner: MetadataScanner, reflector: Reflector): AccessPolicyMap {
  const map: AccessPolicyMap = {};

  for (const wrapper of [...discovery.getProviders(), ...discovery.getControllers()]) {
    const instance = wrapper.instance as object | undefined;
    if (!instance || typeof instance !== 'object' || !wrapper.metatype) continue;
    const prototype = Object.getPrototypeOf(instance);
    const classPolicy = reflector.get<AccessPolicy | undefined>(ACCESS_POLICY_KEY, wrapper.metatype);
    const controllerPath = reflector.get<string | undefined>(PATH_METADATA, wrapper.metatype);
    for (const methodName of scanner.getAllMethodNames(prototype)) {
      const handler = prototype[methodName];
      const policy = reflector.get<AccessPolicy | undefined>(ACCESS_POLICY_KEY, handler) ?? classPolicy;
      const operationType = reflector.get<string | undefined>(RESOLVER_TYPE_METADATA, handler);
      if (operationType === 'Query' || operationType === 'Mutation' || operationType === 'Subscription') {
        const name = reflector.get<string | undefined>(RESOLVER_NAME_METADATA, handler) ?? methodName;
        map[`${operationType} ${name}`] = describeAccessPolicy(policy);
        continue;
      }
      const routePath = reflector.get<string | string[] | undefined>(PATH_METADATA, handler);
      const method = reflector.get<RequestMethod | undefined>(METHOD_METADATA, handler);
      if (controllerPath !== undefined && routePath !== undefined && method !== undefined) {
        const path = `/${[controllerPath, ...[routePath].flat()].join('/')}`.replace(/\/+/g, '/').replace(/(.)\/$/, '$1');
        map[`${RequestMethod[method]} ${path}`] = describeAccessPolicy(policy);
      }
    }
  }
  return Object.fromEntries(Object.entries(map).sort(([a], [b]) => a.localeCompare(b)));
}
