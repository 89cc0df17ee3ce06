#!/usr/bin/python3
"""Compares the built `servicedesk sla holidays` for the dk and se calendars, every year
2000-2035, day by day with Debian's python3-holidays (an implementation that shares no code
with ours). Only the deliberate differences named in DK_DELIBERATE are allowed; any other
day on which the two disagree, or a name that does not match, fails the test.

Usage: compare_holidays.py [SERVICEDESK_BINARY]   (default: $SERVICEDESK_BIN)
Exit 0: no difference beyond the deliberate ones; 1: differences (each printed with its
date and both sides' names); 2: the binary or python3-holidays is missing (a failure, not a
skip: scripts/deps installs python3-holidays).
Security: none; runs our own binary with fixed arguments.
"""
import datetime
import json
import os
import subprocess
import sys

try:
    import holidays
    from dateutil.easter import easter
except ImportError as e:
    print(f"compare_holidays: {e}: install python3-holidays (scripts/deps does)", file=sys.stderr)
    sys.exit(2)

YEARS = range(2000, 2036)

# Our English names for python3-holidays' local ones. A python name missing here fails.
SE_NAMES = {
    "Nyårsdagen": "New Year's Day", "Trettondedag jul": "Epiphany",
    "Jungfru Marie bebådelsedag": "Annunciation Day", "Långfredagen": "Good Friday",
    "Påskdagen": "Easter Sunday", "Annandag påsk": "Easter Monday", "Första maj": "May Day",
    "Kristi himmelsfärdsdag": "Ascension Day", "Sveriges nationaldag": "National Day",
    "Pingstdagen": "Whit Sunday", "Annandag pingst": "Whit Monday",
    "Midsommarafton": "Midsummer Eve", "Midsommardagen": "Midsummer Day",
    "Alla helgons dag": "All Saints' Day", "Julafton": "Christmas Eve", "Juldagen": "Christmas Day",
    "Annandag jul": "Boxing Day", "Nyårsafton": "New Year's Eve",
}
DK_NAMES = {
    "Nytårsdag": "New Year's Day", "Skærtorsdag": "Maundy Thursday", "Langfredag": "Good Friday",
    "Påskedag": "Easter Sunday", "Anden påskedag": "Easter Monday",
    "Store bededag": "Great Prayer Day", "Kristi himmelfartsdag": "Ascension Day",
    "Pinsedag": "Whit Sunday", "Anden pinsedag": "Whit Monday", "Juledag": "Christmas Day",
    "Anden juledag": "Boxing Day", "Grundlovsdag": "Constitution Day", "Palmesøndag": "Palm Sunday",
    "Juleaftensdag": "Christmas Eve", "Nytårsaftensdag": "New Year's Eve",
}


def dk_deliberate(year):
    """Days on which our dk calendar deliberately differs from python3-holidays' Denmark:
    (days python lists that we do not, days we list that python does not), each with why."""
    e = easter(year)
    python_only = {
        # A Sunday in any case: no hours lost. Our calendar lists closures of weekdays' hours.
        e - datetime.timedelta(days=7): "Palm Sunday",
    }
    if year >= 2024:
        # Abolished by the Danish law of 2023; python3-holidays 0.10 predates it.
        python_only[e + datetime.timedelta(days=26)] = "Great Prayer Day"
    ours_only = {
        # Bank holidays (Finans Danmark): not public holidays, but the banks and the seed's
        # "bank holidays" calendar are closed.
        e + datetime.timedelta(days=40): "Friday after Ascension Day",
        datetime.date(year, 6, 5): "Constitution Day",
        datetime.date(year, 12, 24): "Christmas Eve",
        datetime.date(year, 12, 31): "New Year's Eve",
    }
    return python_only, ours_only


def ours(binary, calendar, year):
    env = {k: v for k, v in os.environ.items() if k != "SERVICEDESK_CONFIG"}
    out = subprocess.run([binary, "sla", "holidays", "--calendar", calendar, "--year", str(year), "--json"],
                         check=True, capture_output=True, text=True, env=env).stdout
    days = {}
    for h in json.loads(out):
        days.setdefault(datetime.date.fromisoformat(h["date"]), set()).add(h["name"])
    return days


def theirs(calendar, year):
    table = holidays.Sweden(include_sundays=False, years=year) if calendar == "se" else holidays.Denmark(years=year)
    names = SE_NAMES if calendar == "se" else DK_NAMES
    days = {}
    for day, joined in sorted(table.items()):
        if day.year != year:
            continue
        for name in joined.split(", "):  # python3-holidays joins two holidays on one date
            days.setdefault(day, set()).add(names.get(name, f"<unmapped python name {name!r}>"))
    return days


def compare(binary, calendar, year):
    """Differences as printable lines, the number of days compared, of days we close and of
    deliberate differences met."""
    mine, python = ours(binary, calendar, year), theirs(calendar, year)
    python_only, ours_only = dk_deliberate(year) if calendar == "dk" else ({}, {})
    problems = []
    day = datetime.date(year, 1, 1)
    compared = deliberate = 0
    while day.year == year:
        compared += 1
        expect = set(python.get(day, set()))
        if day in python_only:
            expect.discard(python_only[day])
        if day in ours_only:
            expect.add(ours_only[day])
        got = mine.get(day, set())
        if expect != python.get(day, set()):
            deliberate += 1
        if got != expect:
            problems.append(f"{calendar} {day} ({day:%A}): servicedesk {sorted(got) or 'open'}, "
                            f"python3-holidays {sorted(python.get(day, set())) or 'open'}"
                            + (f", expected {sorted(expect) or 'open'}" if expect != python.get(day, set()) else ""))
        day += datetime.timedelta(days=1)
    return problems, compared, len(mine), deliberate


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("SERVICEDESK_BIN", "")
    if not binary or not os.access(binary, os.X_OK):
        print(f"compare_holidays: no servicedesk binary at {binary!r} (argument or $SERVICEDESK_BIN)", file=sys.stderr)
        return 2
    print(f"python3-holidays {getattr(holidays, '__version__', '?')}, years {YEARS[0]}-{YEARS[-1]}")
    failed = 0
    for calendar in ("dk", "se"):
        days = holiday_days = deliberate = 0
        problems = []
        for year in YEARS:
            p, n, h, d = compare(binary, calendar, year)
            problems += p
            days += n
            holiday_days += h
            deliberate += d
        for line in problems:
            print(line)
        why = (" (Palm Sunday; Great Prayer Day from 2024; Friday after Ascension Day, 5 June, "
               "24 and 31 December)" if calendar == "dk" else "")
        print(f"{calendar}: {days} days compared, {holiday_days} holiday dates listed by servicedesk, "
              f"{deliberate} deliberate differences{why}, {len(problems)} other differences")
        failed += len(problems)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
