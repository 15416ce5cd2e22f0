import { ObjectType } from '@nestjs/graphql';
import { Connection } from '../../graphql/models/connection.model.js';
import { Organization } from './organization.model.js';
import { User } from './user.model.js';

@ObjectType({ description: 'Users as an administrator lists them, by name' })
export class UserConnection extends Connection<User>('User', () => User) {}

@ObjectType({ description: 'Organizations as an administrator lists them, by name' })
export class OrganizationConnection extends Connection<Organization>('Organization', () => Organization) {}
