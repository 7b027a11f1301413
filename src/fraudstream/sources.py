"""Where transaction frames come from: one address string, one loader.

The trainer (``fraudstream train --data SRC``), ``fraudstream evaluate`` and the producer's
file replay all call :func:`read_frame`. An address is one of:

- a local path: ``fraudTrain.csv``, ``*.csv.gz``, ``*.parquet``;
- ``s3://bucket/key`` (boto3; ``FRAUD_S3_ENDPOINT_URL`` for MinIO or another S3-compatible
  server, ``FRAUD_AWS_*`` for credentials, else boto3's own chain);
- ``http://`` or ``https://`` URL of such a file;
- ``sim://?rows=N&seed=S`` (also ``fraud_rate``, ``customers``, ``drift_at``): the simulator,
  with the ``FRAUD_SIM_*`` settings for everything not given, except the drift knob: that one
  drifts the feed, and training rows drift only when ``drift_at`` asks;
- ``db://labelled?since=2020-06-01&until=2020-07-01``: the transactions the stream stored in
  PostgreSQL (``FRAUD_DATABASE_URL``) whose label has arrived, by transaction time (both
  bounds optional).

Files may be in the Kaggle form with or without the leading unnamed index column. The result
has the Kaggle columns and nothing is validated yet: see :func:`fraudstream.schema.check_frame`
and :mod:`fraudstream.trainer.validation`.
"""

from __future__ import annotations

import io
from pathlib import Path, PurePosixPath
from typing import Final
from urllib.parse import parse_qs, urlsplit

import pandas as pd

from fraudstream.config import Settings
from fraudstream.errors import ConfigError, SourceError
from fraudstream.schema import normalise_columns

_PARQUET: Final = (".parquet", ".pq")
_COMPRESSION: Final = {".gz": "gzip", ".bz2": "bz2", ".zip": "zip", ".xz": "xz", ".zst": "zstd"}
_CSV_DTYPES: Final = {"trans_num": "string", "zip": "string", "dob": "string"}
HTTP_TIMEOUT_SECONDS: Final = 60.0


def _parse(data: io.BytesIO | Path, name: str, where: str) -> pd.DataFrame:
    suffix = PurePosixPath(name).suffix.lower()
    try:
        if suffix in _PARQUET:
            frame = pd.read_parquet(data)
        else:
            compression = _COMPRESSION.get(suffix, "infer" if isinstance(data, Path) else None)
            frame = pd.read_csv(data, dtype=_CSV_DTYPES, compression=compression)  # type: ignore[arg-type]
    except (ValueError, OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        kind = "Parquet" if suffix in _PARQUET else "CSV"
        raise SourceError(f"{where} is not a readable {kind} file: {exc}") from exc
    return normalise_columns(frame)


def _local(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise SourceError(f"{path}: no such file (give a CSV or Parquet path, s3:// or http(s)://)")
    return _parse(path, path.name, str(path))


def _s3(address: str, settings: Settings) -> pd.DataFrame:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    parts = urlsplit(address)
    bucket, key = parts.netloc, parts.path.lstrip("/")
    if not bucket or not key:
        raise SourceError(f"{address}: an S3 address is s3://bucket/key")
    secret = settings.s3.aws_secret_access_key
    key_id = settings.s3.aws_access_key_id
    client = boto3.client(
        "s3",
        endpoint_url=settings.s3.s3_endpoint_url,
        region_name=settings.s3.aws_region,
        aws_access_key_id=key_id.get_secret_value() if key_id else None,
        aws_secret_access_key=secret.get_secret_value() if secret else None,
    )
    try:
        body = client.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        hint = (
            "check the bucket and key"
            if code in {"NoSuchKey", "NoSuchBucket", "404"}
            else (
                "check FRAUD_AWS_ACCESS_KEY_ID / FRAUD_AWS_SECRET_ACCESS_KEY and the bucket policy"
            )
        )
        raise SourceError(f"{address}: S3 answered {code or exc}; {hint}") from exc
    except BotoCoreError as exc:
        endpoint = settings.s3.s3_endpoint_url or "AWS"
        raise SourceError(f"{address}: cannot reach S3 at {endpoint}: {exc}") from exc
    return _parse(io.BytesIO(body), key, address)


def _http(address: str) -> pd.DataFrame:
    import httpx

    try:
        with httpx.Client(timeout=HTTP_TIMEOUT_SECONDS, follow_redirects=True) as client:
            response = client.get(address)
    except httpx.HTTPError as exc:
        raise SourceError(f"{address}: cannot download: {exc}") from exc
    if response.status_code != 200:
        raise SourceError(f"{address}: the server answered HTTP {response.status_code}")
    return _parse(io.BytesIO(response.content), urlsplit(address).path, address)


def _simulated(address: str, settings: Settings) -> pd.DataFrame:
    from fraudstream.simulator import Simulator
    from fraudstream.simulator.knobs import parse_time, sim_params

    query = {k: v[-1] for k, v in parse_qs(urlsplit(address).query).items()}
    unknown = set(query) - {"rows", "seed", "fraud_rate", "customers", "drift_at"}
    if unknown:
        raise SourceError(f"{address}: unknown option {', '.join(sorted(unknown))}")
    try:
        rows = int(query.get("rows", "100000"))
        seed = int(query.get("seed", str(settings.simulator.seed)))
        params = sim_params(
            settings.simulator,
            customers=int(query["customers"]) if "customers" in query else None,
            fraud_rate=float(query["fraud_rate"]) if "fraud_rate" in query else None,
        ).model_copy(
            # FRAUD_SIM_DRIFT_AT drifts the feed; training history drifts only when asked
            update={"drift_at": parse_time(query.get("drift_at"), "drift_at")}
        )
    except (ValueError, ConfigError) as exc:
        raise SourceError(f"{address}: bad simulator option: {exc}") from None
    if rows <= 0:
        raise SourceError(f"{address}: rows must be positive")
    return Simulator(params, seed=seed).frame(rows)


def _database(address: str, settings: Settings) -> pd.DataFrame:
    from datetime import datetime

    from fraudstream.schema import KAGGLE_COLUMNS
    from fraudstream.storage.frames import labelled_frame

    parts = urlsplit(address)
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    if parts.netloc != "labelled" or set(query) - {"since", "until"}:
        raise SourceError(f"{address}: the database source is db://labelled?since=DATE&until=DATE")
    try:
        since = datetime.fromisoformat(query.get("since", "1970-01-01"))
        until = datetime.fromisoformat(query.get("until", "9999-12-31"))
    except ValueError as exc:
        raise SourceError(f"{address}: since and until are dates like 2020-06-21") from exc
    frame = labelled_frame(settings.database.url.get_secret_value(), since, until)
    # the stored verdict columns stay out: a model learns from the feed and the label only
    frame = frame[list(KAGGLE_COLUMNS)]
    frame["trans_date_trans_time"] = pd.to_datetime(frame["trans_date_trans_time"])
    return frame


def read_frame(address: str, settings: Settings) -> pd.DataFrame:
    """The transactions at ``address`` (see the module docstring) as a Kaggle-columns frame."""
    scheme = urlsplit(address).scheme.lower()
    if scheme == "s3":
        return _s3(address, settings)
    if scheme in {"http", "https"}:
        return _http(address)
    if scheme == "sim":
        return _simulated(address, settings)
    if scheme == "db":
        return _database(address, settings)
    if scheme in {"", "file"} or len(scheme) == 1:  # a Windows drive letter is a path too
        return _local(Path(urlsplit(address).path if scheme == "file" else address))
    raise SourceError(
        f"{address}: unknown source; use a file path, s3://bucket/key, http(s)://..., "
        "sim://?rows=N&seed=S or db://labelled"
    )
