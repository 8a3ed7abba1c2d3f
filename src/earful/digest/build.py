"""Compute a brand's digest for one local day (or a period) into a ``DigestData``.

Periods are local days in the brand's timezone (a brand found only in stored data gets UTC and
no competitors). ``--date D`` covers D; ``--since S`` covers S through today. Comparisons:
the previous period of the same length, and the same period one week earlier (for a daily digest:
the same weekday last week). All reads are aggregate or bounded queries (see ``queries``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine

from earful.config.models import AppConfig
from earful.digest import queries
from earful.digest.data import DigestData, TrendPoint
from earful.digest.drivers import build_lexicon, count_drivers
from earful.digest.escalation_stats import read_escalation_stats
from earful.digest.health import read_source_health
from earful.digest.themes import ThemeParams, brand_words, find_themes

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class BrandInfo:
    name: str
    timezone: str
    competitors: list[str]
    aliases: list[str]
    known: bool

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def resolve_brand(config: AppConfig, name: str) -> BrandInfo:
    """The configured brand (case-insensitive), or defaults for a brand seen only in data."""
    cfg = config.brand(name)
    if cfg is None:
        return BrandInfo(name=name, timezone="UTC", competitors=[], aliases=[], known=False)
    return BrandInfo(cfg.name, cfg.timezone, list(cfg.competitors), list(cfg.aliases), True)


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    """The UTC instant at which local ``day`` begins in ``zone`` (DST-correct)."""
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def local_today(now: datetime, zone: ZoneInfo) -> date:
    return now.astimezone(zone).date()


def resolve_days(
    now: datetime, zone: ZoneInfo, *, day: date | None = None, since: date | None = None
) -> tuple[date, date]:
    """(first, last) local days, inclusive. ``since`` runs through today; default is today."""
    today = local_today(now, zone)
    if since is not None:
        if since > today:
            raise ValueError(f"--since {since} is in the future (today is {today})")
        return since, today
    chosen = day or today
    return chosen, chosen


def build_digest(
    engine: Engine,
    config: AppConfig,
    *,
    brand: str,
    now: datetime,
    day: date | None = None,
    since: date | None = None,
) -> DigestData:
    """Everything the digest shows for ``brand``, computed with bounded, aggregate queries."""
    info = resolve_brand(config, brand)
    zone = info.zone
    dcfg = config.digest
    first, last = resolve_days(now, zone, day=day, since=since)
    length = (last - first).days + 1
    start, end = local_midnight(first, zone), local_midnight(last + timedelta(days=1), zone)
    prev_start = local_midnight(first - timedelta(days=length), zone)
    week_start = local_midnight(first - timedelta(days=7), zone)
    week_end = local_midnight(last - timedelta(days=6), zone)
    trend_len = min(max(dcfg.trend_days, length), 180)
    trend_days = [last - timedelta(days=i) for i in range(trend_len - 1, -1, -1)]
    bounds = [local_midnight(d, zone) for d in trend_days] + [end]
    window_start = min(
        local_midnight(last + timedelta(days=1 - dcfg.theme_window_days), zone), start
    )

    data = DigestData(
        brand=info.name,
        known_brand=info.known,
        timezone=info.timezone,
        first_day=first,
        last_day=last,
        period_start=start,
        period_end=end,
        generated_at=now,
        competitors=info.competitors,
        theme_window_days=(end - window_start).days,
    )
    with engine.connect() as conn:
        trend = queries.count_by_bucket(conn, brand=info.name, bounds=bounds)
        data.trend = [TrendPoint(d, mix) for d, mix in zip(trend_days, trend, strict=True)]
        if length == 1:
            data.sentiment = trend[-1]
        else:
            data.sentiment = queries.count_sentiment(conn, brand=info.name, start=start, end=end)
        data.volume = data.sentiment.total
        data.volume_previous = queries.count_volume(
            conn, brand=info.name, start=prev_start, end=start
        )
        data.volume_last_week = queries.count_volume(
            conn, brand=info.name, start=week_start, end=week_end
        )
        data.by_source = queries.count_by_source(conn, brand=info.name, start=start, end=end)
        data.share_of_voice = queries.count_brands(
            conn, brands=[info.name, *info.competitors], start=start, end=end
        )
        data.top_negative = queries.top_negative(
            conn, brand=info.name, start=start, end=end, limit=dcfg.top_n
        )
        data.top_positive = queries.top_positive(
            conn, brand=info.name, start=start, end=end, limit=dcfg.top_n
        )
        sample = queries.negative_texts(
            conn, brand=info.name, start=window_start, end=end, cap=dcfg.theme_sample_cap
        )
        data.theme_sample = len(sample)
        data.themes = find_themes(
            sample,
            exclude=brand_words([info.name, *info.aliases, *info.competitors]),
            zone=zone,
            period_start=start,
            period_end=end,
            window_start=window_start,
            params=ThemeParams(
                min_mentions=dcfg.theme_min_mentions,
                max_themes=dcfg.max_themes,
                chronic_min_weeks=dcfg.chronic_min_weeks,
                chronic_min_authors=dcfg.chronic_min_authors,
            ),
        )
        if len(sample) < dcfg.theme_sample_cap or sample[-1].published_at < start:
            period_negatives = [r for r in sample if r.published_at >= start]
        else:
            period_negatives = queries.negative_texts(
                conn, brand=info.name, start=start, end=end, cap=dcfg.driver_sample_cap
            )
        data.drivers_scanned = len(period_negatives)
        data.drivers = count_drivers(
            ((r.text, r.url) for r in period_negatives), build_lexicon(dcfg.drivers)
        )
        data.escalations = read_escalation_stats(
            conn, brand=info.name, start=start, end=end, sla_min=dcfg.ack_sla_minutes
        )
        data.source_health = read_source_health(
            conn, brand=info.name, sources=config.sources, start=start, zone=zone
        )
    logger.debug("digest for %s %s: %s mentions", info.name, data.date_label, data.volume)
    return data
