"""``fraudstream topics create | list``: the project's topics on the configured broker."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

console = Console()


def register(app: typer.Typer) -> None:
    topics = typer.Typer(help="Kafka topics of fraudstream.", no_args_is_help=True)
    topics.command("create")(create)
    topics.command("list")(list_)
    app.add_typer(topics, name="topics")


def create() -> None:
    """Create the five topics (names and partitions from FRAUD_* settings); existing ones stay."""
    from fraudstream.config import load_settings
    from fraudstream.kafka.admin import ensure_topics, topic_specs

    settings = load_settings()
    specs = topic_specs(settings.topics)
    created = set(ensure_topics(settings.kafka, specs))
    for spec in specs:
        state = "created" if spec.name in created else "exists"
        console.print(f"{spec.name}: {spec.partitions} partitions, {state}")
    console.print(f"topics ready at {settings.kafka.bootstrap_servers}")


def list_(
    internal: bool = typer.Option(False, "--internal", help="Show __consumer_offsets too."),
) -> None:
    """List the broker's topics with their partitions and stored messages."""
    from fraudstream.config import load_settings
    from fraudstream.kafka.admin import list_topics

    settings = load_settings()
    table = Table(title=f"topics at {settings.kafka.bootstrap_servers}")
    for column in ("topic", "partitions", "messages"):
        table.add_column(column, justify="left" if column == "topic" else "right")
    for info in list_topics(settings.kafka, internal=internal):
        table.add_row(info.name, str(info.partitions), f"{info.messages:,}")
    console.print(table)
