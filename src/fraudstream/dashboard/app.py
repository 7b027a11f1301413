"""The dashboard's app: what runs on every page view.

It only decides which pages this session may open, and declares them; each page script in
``pages/`` draws itself. A signed-out session gets the sign-in page alone; a signed-in one gets
the pages of its role (:mod:`fraudstream.dashboard.auth`). ``fraudstream dashboard`` (see
:mod:`fraudstream.dashboard.cli`) serves it through :mod:`fraudstream.dashboard.entry.main`,
and Streamlit's ``AppTest`` runs it from there in the tests.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import streamlit as st

from fraudstream.dashboard import auth
from fraudstream.dashboard.roles import Role

PAGES = Path(__file__).parent / "pages"
MENU: Final[tuple[tuple[str, str, str, Role], ...]] = (
    ("live.py", "Live", ":material/monitoring:", "viewer"),
    ("flagged.py", "Flagged", ":material/flag:", "viewer"),
    ("models.py", "Models", ":material/model_training:", "viewer"),
    ("drift.py", "Drift", ":material/query_stats:", "viewer"),
    ("dead_letters.py", "Dead letters", ":material/mail:", "viewer"),
    ("review.py", "Review queue", ":material/fact_check:", "analyst"),
    ("audit.py", "Audit trail", ":material/history:", "analyst"),
    ("users.py", "Users", ":material/group:", "admin"),
)
"""Every page: its file, title, icon, and the lowest role that sees it (Live first: the home)."""


def main() -> None:
    st.set_page_config(page_title="fraudstream", page_icon=":material/shield:", layout="wide")
    who = auth.identity()
    if who is None:
        navigation = st.navigation(_signed_out(), position="hidden")
    else:
        navigation = st.navigation(
            [
                st.Page(
                    PAGES / file,
                    title=title,
                    icon=icon,
                    url_path=Path(file).stem,
                    default=index == 0,
                )
                for index, (file, title, icon, role) in enumerate(MENU)
                if who.at_least(role)
            ]
        )
        auth.sidebar(who)
    st.sidebar.caption("fraudstream · real-time card fraud scoring")
    navigation.run()


def _signed_out() -> list[st.Page]:
    """The sign-in page, at the root and hidden at every other page's address: a link to
    ``/flagged`` opens the form, and once signed in, the Flagged page itself (a page is known
    to Streamlit by its address, so the session stays on it)."""
    return [
        st.Page(auth.sign_in_page, title="Sign in", icon=":material/login:", default=True),
        *(
            st.Page(
                auth.sign_in_page, title="Sign in", url_path=Path(file).stem, visibility="hidden"
            )
            for file, *_ in MENU[1:]
        ),
    ]


if __name__ == "__main__":  # run as a script (streamlit run app.py); entry/main.py calls main()
    main()
