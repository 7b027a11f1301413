"""The Streamlit dashboard: what a fraud analyst and an ML engineer look at.

``fraudstream dashboard`` runs :mod:`fraudstream.dashboard.app` under ``streamlit run``. Every
number comes from PostgreSQL through the read-only role (``settings.database.reader_url``), by
the SQL of :mod:`fraudstream.dashboard.queries`; the aliases on the Models page come from the
MLflow registry when it answers. The page scripts in ``pages/`` only lay out what those return.
"""
