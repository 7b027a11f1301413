"""The script that ``streamlit run`` executes: see :mod:`fraudstream.dashboard.entry.main`."""
