"""What a producer run did, counted: the progress line and the final report read these."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Counts:
    """Running totals of one run; ``delivered`` and ``failed`` are the broker's answers."""

    read: int = 0
    """Records taken from the source (valid or not)."""
    sent: int = 0
    """Transactions handed to the Kafka client for the transactions topic."""
    delivered: int = 0
    """Transactions the broker confirmed (acks=all)."""
    failed: int = 0
    """Transactions the broker did not take."""
    invalid: int = 0
    """Records that broke the schema: skipped, or sent to the dead-letter topic."""
    dead_lettered: int = 0
    """Invalid records the broker confirmed on the dead-letter topic."""
    labels_sent: int = 0
    labels_delivered: int = 0
    labels_pending: int = 0
    """Labels not yet due when the run ended (their time on the source's clock never came)."""
    feed_errors: int = 0
    """Calls to an HTTP feed that brought no transaction (non-200, timeout, refused)."""
    seconds: float = 0.0
    """From the first record read to the end of the final flush."""

    def summary(self, topic: str) -> str:
        """One line for the end of the run."""
        rate = self.sent / self.seconds if self.seconds > 0 else 0.0
        parts = [
            f"read {self.read:,}",
            f"sent {self.sent:,} to {topic}",
            f"delivered {self.delivered:,}",
            f"invalid {self.invalid:,}",
        ]
        if self.dead_lettered:
            parts.append(f"dead-lettered {self.dead_lettered:,}")
        parts.append(f"failed {self.failed:,}")
        if self.labels_sent or self.labels_pending:
            parts.append(
                f"labels delivered {self.labels_delivered:,} (pending {self.labels_pending:,})"
            )
        if self.feed_errors:
            parts.append(f"feed errors {self.feed_errors:,}")
        parts.append(f"in {self.seconds:.1f} s ({rate:,.0f}/s)")
        return " · ".join(parts)
