# SPDX-License-Identifier: Apache-2.0
"""Read every table's columns and primary key in one schema with
SQLAlchemy's inspector, the way a Python tool would; the comparison point
of bench/postgres/run.

usage: sqla_inspect.py URL SCHEMA
Prints "<tables> <columns>".  The password comes from PGPASSWORD.
"""
import sys

from sqlalchemy import create_engine, inspect


def main():
    url, schema = sys.argv[1], sys.argv[2]
    engine = create_engine(url)
    insp = inspect(engine)
    tables = insp.get_table_names(schema=schema)
    columns = 0
    for name in tables:
        columns += len(insp.get_columns(name, schema=schema))
        insp.get_pk_constraint(name, schema=schema)
    engine.dispose()
    print(len(tables), columns)


if __name__ == "__main__":
    main()
