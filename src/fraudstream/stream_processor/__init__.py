"""The stream processor: Kafka transactions in, verdicts stored and published, offsets last.

A Faust agent only pulls events (``noack_take``) into a bounded :class:`~.pending.Pending` set;
a scorer task of its own, on its own clock, sends everything pending to the model service,
stores the verdicts with the cards' new state in one PostgreSQL transaction, publishes them,
and only then acknowledges the events. While the service (or the database) fails, the pending
set keeps growing with new arrivals up to its bound, and then the agent stops pulling.
"""
