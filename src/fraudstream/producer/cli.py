"""``fraudstream produce``: the transaction feed onto Kafka, from the simulator, a file or an
HTTP feed. ``fraudstream up`` runs ``fraudstream produce --source sim --rate R`` for ever."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

import typer

from fraudstream.errors import ConfigError, FraudstreamError

if TYPE_CHECKING:
    from fraudstream.config import Settings
    from fraudstream.producer.run import Source, Stop
    from fraudstream.simulator.params import SimParams

SourceKind = Literal["sim", "feed", "file"]

_SOURCE_HELP = (
    "sim (the simulator), a file to replay (CSV or Parquet: a path, s3://bucket/key, "
    "http(s)://...), or an HTTP feed that answers one transaction per GET: feed+http(s)://..."
)


def register(app: typer.Typer) -> None:
    app.command()(produce)


def produce(
    source: Annotated[str, typer.Option(help=_SOURCE_HELP)] = "sim",
    feed: Annotated[
        str | None, typer.Option(help="Poll this HTTP feed URL (the same as feed+URL).")
    ] = None,
    rate: Annotated[
        float | None,
        typer.Option(
            help="Transactions per second, 0 = as fast as possible; default FRAUD_PRODUCE_RATE "
            "for the simulator and feeds (feeds are polled at this rate), 0 for files."
        ),
    ] = None,
    replay_speed: Annotated[
        float | None,
        typer.Option(help="Replay a file at its own pace (trans_date_trans_time), X times faster."),
    ] = None,
    limit: Annotated[
        int | None, typer.Option(min=1, help="Stop after N records (default: all, or for ever).")
    ] = None,
    topic: Annotated[
        str | None, typer.Option(help="Topic to write; default FRAUD_TOPIC_TRANSACTIONS.")
    ] = None,
    on_invalid: Annotated[
        str,
        typer.Option(help="dlq (to the dead-letter topic, with the reason) or skip."),
    ] = "dlq",
    labels: Annotated[
        bool | None,
        typer.Option(
            "--labels/--no-labels",
            help="Emit each transaction's delayed label on the labels topic "
            "(default: on for the simulator; files and feeds need an is_fraud field).",
        ),
    ] = None,
    label_delay_seconds: Annotated[
        float | None,
        typer.Option(
            help="Emit each label this many real seconds after its transaction, instead of "
            "FRAUD_SIM_LABEL_DELAY_DAYS later on the transactions' own clock (for demos)."
        ),
    ] = None,
    seed: Annotated[
        int | None, typer.Option(help="Simulator seed; default FRAUD_SIM_SEED.")
    ] = None,
    fraud_rate: Annotated[
        float | None, typer.Option(help="Simulator fraud share; default FRAUD_SIM_FRAUD_RATE.")
    ] = None,
    drift_at: Annotated[
        str | None,
        typer.Option(
            help="Simulated time (2019-03-01) from which --drift-scenario joins the mix; "
            "default FRAUD_SIM_DRIFT_AT (none)."
        ),
    ] = None,
    drift_scenario: Annotated[
        str | None,
        typer.Option(
            help="The fraud scenario that appears at --drift-at; "
            "default FRAUD_SIM_DRIFT_SCENARIO (card_testing)."
        ),
    ] = None,
) -> None:
    """Push transactions onto the transactions topic (key = card number), with delayed labels,
    invalid records dead-lettered, and a final flush on Ctrl-C or SIGTERM."""
    from rich.console import Console

    from fraudstream import logs
    from fraudstream.config import load_settings
    from fraudstream.producer.labels import LabelSchedule
    from fraudstream.producer.run import ProduceRun, RunOptions, Stop
    from fraudstream.producer.signals import stop_on_signals

    settings = load_settings()
    logs.configure(settings.log_level)
    kind, address = source_kind(source, feed)
    sim_options = {
        "--seed": seed,
        "--fraud-rate": fraud_rate,
        "--drift-at": drift_at,
        "--drift-scenario": drift_scenario,
    }
    given = [name for name, value in sim_options.items() if value is not None]
    if kind != "sim" and given:
        raise ConfigError(f"{', '.join(given)}: for the simulator only (--source sim)")
    if on_invalid not in ("skip", "dlq"):
        raise ConfigError(f"--on-invalid must be skip or dlq, got {on_invalid!r}")
    pace = pacing(kind, rate, replay_speed, settings)
    if label_delay_seconds is not None and label_delay_seconds < 0:
        raise ConfigError("--label-delay-seconds must be >= 0")
    if labels is False and label_delay_seconds is not None:
        raise ConfigError("--label-delay-seconds needs labels; drop --no-labels")
    if labels is None:
        labels = kind == "sim" or label_delay_seconds is not None

    stop = Stop()
    params = None
    if kind == "sim":
        from fraudstream.simulator.knobs import parse_scenario, parse_time, sim_params

        params = sim_params(
            settings.simulator,
            fraud_rate=fraud_rate,
            drift_at=parse_time(drift_at, "--drift-at"),
            drift_scenario=parse_scenario(drift_scenario, "--drift-scenario"),
        )
    chosen = build_source(kind, address, settings, stop, params, seed, limit)
    delay = settings.simulator.label_delay_days
    schedule = LabelSchedule(delay, label_delay_seconds) if labels else None
    target = topic or settings.topics.transactions
    options = RunOptions(
        topic=target,
        on_invalid="skip" if on_invalid == "skip" else "dlq",
        rate=pace[0],
        replay_speed=pace[1],
        limit=limit,
    )
    console = Console()
    run = ProduceRun(settings, options, labels=schedule, stop=stop, console=Console(stderr=True))
    run.check_topics()
    with stop_on_signals(stop):
        try:
            run.run(chosen)
        except FraudstreamError:
            if run.counts.read:
                console.print(run.counts.summary(target), highlight=False, soft_wrap=True)
            raise
    console.print(run.counts.summary(target), highlight=False, soft_wrap=True)


def source_kind(source: str, feed: str | None) -> tuple[SourceKind, str]:
    """What ``--source`` / ``--feed`` name, and the address to read."""
    from fraudstream.producer.feed import feed_url

    if feed is not None:
        if source != "sim":
            raise ConfigError("give either --source or --feed, not both")
        if not feed.lower().startswith(("http://", "https://")):
            raise ConfigError(f"--feed must be an http:// or https:// URL, got {feed!r}")
        return "feed", feed
    url = feed_url(source)
    if url is not None:
        return "feed", url
    if source == "sim":
        return "sim", source
    return "file", source


def pacing(
    kind: SourceKind, rate: float | None, replay_speed: float | None, settings: Settings
) -> tuple[float, float | None]:
    """(records per second, replay speed) for the source; one readable error per conflict."""
    if rate is not None and rate < 0:
        raise ConfigError(f"--rate must be >= 0 (0: as fast as possible), got {rate}")
    if replay_speed is not None:
        if kind != "file":
            raise ConfigError("--replay-speed replays a file's own clock: give a file --source")
        if replay_speed <= 0:
            raise ConfigError(f"--replay-speed must be positive, got {replay_speed}")
        if rate is not None:
            raise ConfigError("give either --rate or --replay-speed, not both")
        return 0.0, replay_speed
    if rate is not None:
        return rate, None
    return (0.0 if kind == "file" else settings.producer.rate), None


def build_source(
    kind: SourceKind,
    address: str,
    settings: Settings,
    stop: Stop,
    params: SimParams | None,
    seed: int | None,
    limit: int | None,
) -> Source:
    """The items of the chosen source, lazily: nothing is read before the run starts."""
    from fraudstream.producer.run import Source

    if kind == "feed":
        from fraudstream.producer.feed import FeedPoller

        poller = FeedPoller(address, settings.producer, stop.requested)
        return Source(f"the feed {address}", poller.items(), lambda: poller.errors)
    if kind == "sim":
        from fraudstream.producer.frames import simulated_items
        from fraudstream.simulator import Simulator

        sim = Simulator(params, seed=settings.simulator.seed if seed is None else seed)
        return Source(f"the simulator (seed {sim.seed})", simulated_items(sim, limit))
    from fraudstream.producer.frames import replayed_items

    return Source(address, replayed_items(address, settings))
