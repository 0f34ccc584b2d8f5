import 'reflect-metadata';
import { writeFile } from 'node:fs/promises';
import { handoverSchema, printHandoverSchema } from './schema.js';

/** Writes schema.graphql (run from the project root). */
const schema = await handoverSchema();
await writeFile('schema.graphql', printHandoverSchema(schema));
console.log('schema.graphql written');
