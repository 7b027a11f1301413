"""The Kafka client wrapper: the only code in fraudstream that talks to confluent-kafka.

Components import from its modules, never from ``confluent_kafka``::

    from fraudstream.kafka.producer import Producer
    from fraudstream.kafka.consumer import Consumer
    from fraudstream.kafka.admin import ensure_topics, wait_for_topics

    with Producer(settings) as producer:          # acks=all, idempotent, lz4; flushes on exit
        producer.produce(settings.topics.transactions, value, key=str(cc_num))

Every failure is a :class:`~fraudstream.errors.BrokerError` whose message says what to do.
Faust (the stream processor) keeps its own aiokafka clients; the topics it reads are created
here, by ``ensure_topics``. This package file imports nothing, so that ``fraudstream --help``
does not load librdkafka.
"""
