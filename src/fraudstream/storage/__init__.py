"""PostgreSQL: the schema (plain SQL migrations), the async repository the services write and
read through, and a small sync reader that gives pandas frames to the trainer and the dashboard.

Every client error of asyncpg or psycopg leaves this package as a
:class:`~fraudstream.errors.StorageError` that names the server with its password masked.
"""
