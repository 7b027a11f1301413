"""The dashboard's entry script, as ``streamlit run`` executes it on every page view.

It only declares the pages; each page script in ``pages/`` draws itself. Started by
``fraudstream dashboard`` (see :mod:`fraudstream.dashboard.cli`), or by Streamlit's ``AppTest``
in the tests.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

PAGES = Path(__file__).parent / "pages"


def main() -> None:
    st.set_page_config(page_title="fraudstream", page_icon=":material/shield:", layout="wide")
    navigation = st.navigation(
        [
            st.Page(PAGES / "live.py", title="Live", icon=":material/monitoring:", default=True),
            st.Page(PAGES / "flagged.py", title="Flagged", icon=":material/flag:"),
            st.Page(PAGES / "models.py", title="Models", icon=":material/model_training:"),
            st.Page(PAGES / "drift.py", title="Drift", icon=":material/query_stats:"),
            st.Page(PAGES / "dead_letters.py", title="Dead letters", icon=":material/mail:"),
        ]
    )
    st.sidebar.caption("fraudstream · real-time card fraud scoring")
    navigation.run()


main()
