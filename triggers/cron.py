"""Cron expressions, pure: parse (celery's crontab, as celery-beat fires them), fire times in a
timezone, the latest fire at or before a moment; in words, and previewed with DST changes marked."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from celery.schedules import crontab

UTC_ZONE = ZoneInfo("UTC")
MAX_DAYS = 366 * 5  # a cron that matches nothing in five years (Feb 30th) has no fire times


class CronError(ValueError):
    pass


def parse(expression: str) -> crontab:
    """"minute hour day-of-month month day-of-week" -> a celery crontab; CronError says what is wrong."""
    fields = expression.split()
    if len(fields) != 5:
        raise CronError(f"a cron expression has 5 fields (minute hour day-of-month month day-of-week), "
                        f"got {len(fields)}")
    minute, hour, day_of_month, month_of_year, day_of_week = fields
    try:
        return crontab(minute=minute, hour=hour, day_of_month=day_of_month, month_of_year=month_of_year,
                       day_of_week=day_of_week)
    except (ValueError, KeyError, TypeError) as exc:
        raise CronError(f"invalid cron expression {expression!r}: {exc}") from None


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise CronError(f"unknown timezone {name!r}") from None


def _day_matches(c: crontab, day: date) -> bool:
    return day.month in c.month_of_year and day.day in c.day_of_month and day.isoweekday() % 7 in c.day_of_week


def _fires_on(c: crontab, day: date, tz: ZoneInfo, *, reverse: bool = False) -> Iterator[datetime]:
    if not _day_matches(c, day):
        return
    for hour in sorted(c.hour, reverse=reverse):
        for minute in sorted(c.minute, reverse=reverse):
            yield datetime.combine(day, time(hour, minute), tzinfo=tz)


def next_fires(expression: str, tz_name: str, after: datetime, count: int = 5) -> list[datetime]:
    """The next `count` fire times strictly after `after` (aware datetimes in the schedule's zone)."""
    c, tz = parse(expression), zone(tz_name)
    local = after.astimezone(tz)
    found: list[datetime] = []
    for offset in range(MAX_DAYS):
        for moment in _fires_on(c, local.date() + timedelta(days=offset), tz):
            if moment > after:
                found.append(moment)
                if len(found) == count:
                    return found
    return found


def latest_fire(expression: str, tz_name: str, at: datetime) -> datetime | None:
    """The latest fire time at or before `at`, within a year; None if there is none."""
    c, tz = parse(expression), zone(tz_name)
    local = at.astimezone(tz)
    for offset in range(367):
        for moment in _fires_on(c, local.date() - timedelta(days=offset), tz, reverse=True):
            if moment <= at:
                return moment
    return None


def fires_between(expression: str, tz_name: str, start: datetime, end: datetime, limit: int) -> list[datetime]:
    """Fire times in (start, end]: the latest `limit` of them, oldest first."""
    times: list[datetime] = []
    moment = latest_fire(expression, tz_name, end)
    while moment is not None and moment > start and len(times) < limit:
        times.append(moment)
        moment = latest_fire(expression, tz_name, moment - timedelta(minutes=1))
    return times[::-1]


def describe(expression: str) -> str:
    """The expression in words ("At 09:00, Monday through Friday"); CronError if celery refuses it."""
    from cron_descriptor import ExpressionDescriptor, Options  # pinned by django-celery-beat

    parse(expression)  # celery's rules decide what is valid, not the describer's
    options = Options()
    options.use_24hour_time_format = True
    try:
        return ExpressionDescriptor(expression, options).get_description()
    except Exception as exc:  # noqa: BLE001 - the describer's own errors: the expression still fires
        return f"(no description: {exc})"


def _offset(moment: datetime) -> str:
    offset = moment.utcoffset() or timedelta(0)
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def preview(expression: str, tz_name: str, after: datetime, count: int) -> list[dict]:
    """The next `count` fire times, each with its UTC offset and, where the offset differs from the
    one before (the first is compared with `after`), the DST change that happened in between; a wall
    time the clocks skip is marked too (it fires at the instant the zone maps it to)."""
    tz = zone(tz_name)
    previous = after.astimezone(tz)
    fires: list[dict] = []
    for wall in next_fires(expression, tz_name, after, count):
        moment = wall.astimezone(UTC_ZONE).astimezone(tz)  # the instant it fires, named as the zone names it
        changed = _offset(moment) != _offset(previous)
        fires.append({
            "at": moment.isoformat(),
            "utc": moment.astimezone(UTC_ZONE).isoformat(),
            "offset": _offset(moment),
            "dst_change": f"clocks changed from {_offset(previous)} to {_offset(moment)}" if changed else None,
            "skipped_wall_time": moment.replace(tzinfo=None) != wall.replace(tzinfo=None),
        })
        previous = moment
    return fires
