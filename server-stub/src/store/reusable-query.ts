/**
 * A query built with Kysely once and then run many times with new values, for the statements a
 * busy request path runs on every request (a heartbeat's device update): building and compiling a
 * query with Kysely costs more CPU than SQLite takes to run a simple one. The query is built with
 * a marker in place of each value, compiled, and the markers' positions among its parameters
 * kept; each run passes the SQL with the new values in those positions. A query whose values
 * change its shape (a column set or not) is kept once per shape (the names of the values given) and
 * per SQL dialect.
 */
import { type Compilable, CompiledQuery, type Kysely, type QueryResult } from 'kysely';
import type { Database } from './schema';

/** Stands for the value named `name` while the query is built. */
class Marker {
  constructor(readonly name: string) {}
}

interface Compiled {
  sql: string;
  /** Each parameter: the name of the value that goes there, or a constant of the query itself. */
  parameters: ({ value: string } | { constant: unknown })[];
}

/**
 * `build` makes the query from values (markers, while it is compiled: it may only place them, never
 * look at them); the result runs it on a database or transaction with `values`.
 */
export function reusableQuery<Values extends Record<string, unknown>, Row>(
  build: (db: Kysely<Database>, values: Values) => Compilable<Row>,
): (db: Kysely<Database>, values: Values) => Promise<QueryResult<Row>> {
  const shapes = new Map<string, Compiled>();
  return (db, values) => {
    const names = Object.keys(values);
    // SQL differs between SQLite and PostgreSQL (placeholders, quoting): kept per dialect too.
    const shape = `${db.getExecutor().adapter.constructor.name}:${names.join(',')}`;
    let compiled = shapes.get(shape);
    if (!compiled) {
      const markers = Object.fromEntries(names.map((name) => [name, new Marker(name)])) as Values;
      const query = build(db, markers).compile();
      compiled = {
        sql: query.sql,
        parameters: query.parameters.map((parameter) =>
          parameter instanceof Marker ? { value: parameter.name } : { constant: parameter },
        ),
      };
      shapes.set(shape, compiled);
    }
    const parameters = compiled.parameters.map((parameter) =>
      'value' in parameter ? values[parameter.value] : parameter.constant,
    );
    return db.executeQuery(CompiledQuery.raw(compiled.sql, parameters)) as Promise<QueryResult<Row>>;
  };
}
