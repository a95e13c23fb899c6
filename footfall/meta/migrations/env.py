"""Alembic environment: footfall passes its engine in `config.attributes`.

On SQLite, foreign keys are off while migrations run (SQLite's advice for schema changes): a
batch migration copies a table, and dropping the old copy would otherwise cascade to every
row that refers to it. They are switched back on before the connection returns to the pool.
"""

from __future__ import annotations

from alembic import context

from footfall.meta.tables import metadata

engine = context.config.attributes["engine"]
with engine.connect() as connection:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # Outside any transaction, where SQLite ignores the pragma.
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        connection.commit()
    try:
        with connection.begin():
            context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        if sqlite:
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            connection.commit()
