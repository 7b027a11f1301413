"""The producer: the transaction feed onto the ``transactions`` topic (key = card number).

Sources: the simulator (paced at a rate, with each transaction's label delayed onto the
``labels`` topic), a file replayed from disk, S3 or HTTP (at a rate, as fast as possible, or at
its own pace sped up), and an HTTP feed that answers one transaction per GET. Invalid records
are reported and skipped or dead-lettered; the run ends with a flush and its counts::

    from fraudstream.producer.frames import simulated_items
    from fraudstream.producer.run import ProduceRun, RunOptions, Source

    run = ProduceRun(settings, RunOptions(topic=settings.topics.transactions, rate=500))
    counts = run.run(Source("simulator", simulated_items(Simulator(), limit=10_000)))

``fraudstream produce`` (:mod:`.cli`) wires the same pieces from its options.
"""
