"""``fraudstream reconcile``: after an incident (or any time), prove that the stream lost and
duplicated nothing, by accounting for every offset of the ``transactions`` topic.

:func:`~fraudstream.reconcile.audit.reconcile` reads the topics and tables;
:mod:`~fraudstream.reconcile.ledger` does the accounting (pure); the fault tests call the former.
"""
