"""The page scripts of the dashboard; Streamlit executes one per view (see ``app.py``)."""
