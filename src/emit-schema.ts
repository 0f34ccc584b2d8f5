import 'reflect-metadata';
import { writeFile } from 'node:fs/promises';
import { handoverSchema, printHandoverSchema } from './schema.js';
import { createLogger } from './shared/logger.js';

/** Writes schema.graphql (run from the project root). */
const schema = await handoverSchema();
await writeFile('schema.graphql', printHandoverSchema(schema));
createLogger().info('schema.graphql written');
