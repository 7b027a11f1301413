"""What ``fraudstream dashboard`` hands to ``streamlit run``: the app of
:mod:`fraudstream.dashboard.app`, run from a folder that has no ``pages/`` directory.

Streamlit treats a main script with a ``pages/`` folder beside it (as ``app.py`` has) as an
old-style multipage app until some run calls ``st.navigation``: after a start, a first request
for a page's address (``/flagged``) would run ``pages/flagged.py`` itself, never ``app.py``,
which decides who may see what. From here, every run goes through ``app.main``. The tests'
``AppTest`` starts from this script too, so that they run the app as the server does.
"""

from fraudstream.dashboard.app import main

main()
