"""PostgreSQL, and the only package that imports its drivers (asyncpg, psycopg): the schema
(plain SQL migrations), the async repository the services write and read through, the sync
readers that give pandas frames to the trainer and the dashboard (``frames``, ``readonly``), the
champion/challenger run lock (``lock``) and the local stack's server checks (``server``).

Every client error of asyncpg or psycopg leaves this package as a
:class:`~fraudstream.errors.StorageError` that names the server with its password masked
(``failures.storage_error``).
"""
