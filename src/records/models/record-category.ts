import { registerEnumType } from '@nestjs/graphql';
import { RECORD_CATEGORIES, type RecordCategory } from 'healthledger-chaincode/shared';

/** The contract's `RecordCategory` enum, built from the list the chaincode enforces. */
export const RecordCategoryEnum = Object.fromEntries(RECORD_CATEGORIES.map((category) => [category, category])) as {
  [C in RecordCategory]: C;
};

registerEnumType(RecordCategoryEnum, { name: 'RecordCategory' });
