/*
 * frequency.c: the period grid of a series, inferred from its timestamps.
 *
 * Month-based grids (monthly, quarterly, yearly) are tried first because
 * their periods vary in length: every timestamp must fall on the same day of
 * its month (clamped to shorter months) or on every month's last day, at one
 * time of day. Otherwise the smallest spacing must be an hour, a day or a
 * week, and every spacing a whole number of it. Missing periods are gaps,
 * reported and later filled; anything else is an error.
 */
#include "postgres.h"

#include <limits.h>
#include <math.h>

#include "datatype/timestamp.h"
#include "forecast/forecast.h"
#include "utils/datetime.h"

#define SECONDS_PER_DAY 86400.0

/* Timestamps from SQL are exact to the microsecond; allow for float noise. */
#define TIME_TOLERANCE 1e-3

/* Days since 1970-01-01 of a proleptic Gregorian date, by PostgreSQL's calendar. */
static int64
days_from_civil(int64 year, int month, int day)
{
	return (int64) date2j((int) year, month, day) - UNIX_EPOCH_JDATE;
}

static void
civil_from_days(int64 days, int *year, int *month, int *day)
{
	j2date((int) (days + UNIX_EPOCH_JDATE), year, month, day);
}

static int
days_in_month(int year, int month)
{
	return day_tab[isleap(year)][month - 1];
}

double
forecast_make_time(int year, int month, int day, int hour, int minute, int second)
{
	return (double) days_from_civil(year, month, day) * SECONDS_PER_DAY
		+ hour * 3600.0 + minute * 60.0 + second;
}

CalendarParts
forecast_calendar(double t)
{
	CalendarParts parts;
	int64		days = (int64) floor(t / SECONDS_PER_DAY);

	parts.seconds_of_day = t - (double) days * SECONDS_PER_DAY;
	/* rounding can leave a timestamp a hair before midnight on the wrong day */
	if (parts.seconds_of_day > SECONDS_PER_DAY - TIME_TOLERANCE)
	{
		days++;
		parts.seconds_of_day = 0.0;
	}
	civil_from_days(days, &parts.year, &parts.month, &parts.day);
	parts.hour = (int) floor(parts.seconds_of_day / 3600.0 + 1e-9);
	/* 1970-01-01 was a Thursday (ISO 4) */
	parts.day_of_week = (int) (((days % 7) + 7 + 3) % 7) + 1;
	parts.day_of_year = (int) (days - days_from_civil(parts.year, 1, 1)) + 1;
	return parts;
}

char *
forecast_format_time(double t, char *buf)
{
	CalendarParts p = forecast_calendar(t);
	int			seconds = (int) floor(p.seconds_of_day + 0.5);

	snprintf(buf, 32, "%04d-%02d-%02d %02d:%02d:%02d", p.year, p.month, p.day,
			 seconds / 3600, seconds / 60 % 60, seconds % 60);
	return buf;
}

const char *
forecast_frequency_name(ForecastFrequency freq)
{
	switch (freq)
	{
		case FREQ_HOURLY:
			return "hourly";
		case FREQ_DAILY:
			return "daily";
		case FREQ_WEEKLY:
			return "weekly";
		case FREQ_MONTHLY:
			return "monthly";
		case FREQ_QUARTERLY:
			return "quarterly";
		case FREQ_YEARLY:
			return "yearly";
	}
	return "unknown";
}

int
forecast_season_length(ForecastFrequency freq)
{
	switch (freq)
	{
		case FREQ_HOURLY:
			return 24;			/* the weekly cycle (168) is left to lag features */
		case FREQ_DAILY:
			return 7;
		case FREQ_WEEKLY:
			return 52;
		case FREQ_MONTHLY:
			return 12;
		case FREQ_QUARTERLY:
			return 4;
		case FREQ_YEARLY:
			return 1;
	}
	return 1;
}

static int64
month_index(const CalendarParts *p)
{
	return (int64) p->year * 12 + (p->month - 1);
}

double
forecast_step(const TimeGrid *grid, double t, int k)
{
	CalendarParts p;
	int64		target;
	int64		year;
	int			month;
	int			day;

	if (grid->step_months == 0)
		return t + k * grid->step_seconds;

	p = forecast_calendar(t);
	target = month_index(&p) + (int64) k * grid->step_months;
	year = target >= 0 ? target / 12 : (target - 11) / 12;
	month = (int) (target - year * 12) + 1;
	day = grid->month_end ? days_in_month((int) year, month)
		: Min(grid->anchor_day, days_in_month((int) year, month));
	return (double) days_from_civil(year, month, day) * SECONDS_PER_DAY + grid->time_of_day;
}

int
forecast_grid_index(const TimeGrid *grid, double t)
{
	if (grid->step_months == 0)
	{
		double		q = (t - grid->origin) / grid->step_seconds;
		double		r = floor(q + 0.5);

		if (fabs(t - (grid->origin + r * grid->step_seconds)) > TIME_TOLERANCE
			|| r < 0 || r > INT_MAX)
			return -1;
		return (int) r;
	}
	else
	{
		CalendarParts a = forecast_calendar(grid->origin);
		CalendarParts b = forecast_calendar(t);
		int64		months = month_index(&b) - month_index(&a);
		int64		k;

		if (months < 0 || months % grid->step_months != 0)
			return -1;
		k = months / grid->step_months;
		if (k > INT_MAX || fabs(forecast_step(grid, grid->origin, (int) k) - t) > TIME_TOLERANCE)
			return -1;
		return (int) k;
	}
}

/*
 * Whether the timestamps share a monthly anchor: one time of day, and either
 * every month's last day or one day of the month (clamped to short months).
 */
static bool
month_anchor(const CalendarParts *parts, int n, TimeGrid *grid)
{
	bool		all_month_end = true;
	int			anchor = 0;

	for (int i = 0; i < n; i++)
	{
		if (fabs(parts[i].seconds_of_day - parts[0].seconds_of_day) > TIME_TOLERANCE)
			return false;
		if (parts[i].day != days_in_month(parts[i].year, parts[i].month))
			all_month_end = false;
		anchor = Max(anchor, parts[i].day);
	}
	if (!all_month_end)
	{
		for (int i = 0; i < n; i++)
		{
			if (parts[i].day != Min(anchor, days_in_month(parts[i].year, parts[i].month)))
				return false;
		}
	}
	grid->month_end = all_month_end;
	grid->anchor_day = anchor;
	grid->time_of_day = parts[0].seconds_of_day;
	return true;
}

static void
irregular_error(double a, double b, const char *detail, const char *hint)
{
	char		ta[32];
	char		tb[32];

	ereport(ERROR,
			(errcode(ERRCODE_DATA_EXCEPTION),
			 errmsg("timestamps are irregularly spaced: %s is followed by %s",
					forecast_format_time(a, ta), forecast_format_time(b, tb)),
			 errdetail("%s", detail),
			 errhint("%s", hint)));
}

static const char *const supported_hint =
	"Supported frequencies are hourly, daily, weekly, monthly, quarterly and yearly; "
	"aggregate the rows to one of them first (date_trunc and GROUP BY).";

TimeGrid
forecast_infer_grid(const double *times, int n, GridReport *report)
{
	TimeGrid	grid;
	CalendarParts *parts;
	double		periods;		/* from first to last, as a double against overflow */
	int			largest_gap = 0;
	double		first_gap_at = NAN;

	memset(&grid, 0, sizeof(grid));
	if (n < 2)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a series needs at least two timestamps to infer its frequency, it has %d", n)));

	for (int i = 0; i < n; i++)
	{
		if (!isfinite(times[i]))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("the time column has an infinite or NaN timestamp"),
					 errhint("Leave out rows whose time is infinity.")));
		if (i > 0 && times[i] - times[i - 1] <= TIME_TOLERANCE)
		{
			char		t[32];

			if (times[i] < times[i - 1] - TIME_TOLERANCE)
				elog(ERROR, "timestamps are not sorted");
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("duplicate timestamp %s in the time column", forecast_format_time(times[i], t)),
					 errdetail("A series has one value per period."),
					 errhint("Aggregate the rows of each period first (GROUP BY), or name the column that tells the series apart.")));
		}
	}

	grid.origin = times[0];
	parts = palloc(n * sizeof(CalendarParts));
	for (int i = 0; i < n; i++)
		parts[i] = forecast_calendar(times[i]);

	if (month_anchor(parts, n, &grid))
	{
		int64		smallest = PG_INT64_MAX;

		for (int i = 1; i < n; i++)
			smallest = Min(smallest, month_index(&parts[i]) - month_index(&parts[i - 1]));
		if (smallest != 1 && smallest != 3 && smallest != 12)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("timestamps are %lld months apart, which is not a supported frequency",
							(long long) smallest),
					 errhint("%s", supported_hint)));
		grid.step_months = (int) smallest;
		grid.freq = smallest == 1 ? FREQ_MONTHLY : smallest == 3 ? FREQ_QUARTERLY : FREQ_YEARLY;
		for (int i = 1; i < n; i++)
		{
			int64		months = month_index(&parts[i]) - month_index(&parts[i - 1]);

			if (months % smallest != 0)
				irregular_error(times[i - 1], times[i],
								smallest == 3
								? "Timestamps of a quarterly series are whole quarters apart."
								: "Timestamps of a yearly series are whole years apart.",
								supported_hint);
			if (months > smallest)
			{
				largest_gap = (int) Min(Max(largest_gap, months / smallest - 1), INT_MAX);
				if (isnan(first_gap_at))
					first_gap_at = forecast_step(&grid, times[i - 1], 1);
			}
		}
		periods = (double) (month_index(&parts[n - 1]) - month_index(&parts[0])) / smallest + 1;
	}
	else
	{
		static const double steps[] = {3600.0, SECONDS_PER_DAY, 7 * SECONDS_PER_DAY};
		static const ForecastFrequency freqs[] = {FREQ_HOURLY, FREQ_DAILY, FREQ_WEEKLY};
		double		smallest = INFINITY;
		int			which = -1;

		for (int i = 1; i < n; i++)
			smallest = Min(smallest, times[i] - times[i - 1]);
		for (int s = 0; s < lengthof(steps); s++)
		{
			if (fabs(smallest - steps[s]) <= TIME_TOLERANCE)
				which = s;
		}
		if (which < 0)
		{
			char		ta[32];
			char		tb[32];

			for (int i = 1; i < n; i++)
			{
				if (times[i] - times[i - 1] == smallest)
				{
					forecast_format_time(times[i - 1], ta);
					forecast_format_time(times[i], tb);
					break;
				}
			}
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("timestamps are irregularly spaced: the smallest spacing, %g seconds (%s to %s), is not one period of a supported frequency",
							smallest, ta, tb),
					 errhint("%s", supported_hint)));
		}
		grid.freq = freqs[which];
		grid.step_seconds = steps[which];
		for (int i = 1; i < n; i++)
		{
			double		q = (times[i] - times[i - 1]) / grid.step_seconds;
			double		whole = floor(q + 0.5);

			if (fabs(q - whole) * grid.step_seconds > TIME_TOLERANCE)
				irregular_error(times[i - 1], times[i],
								grid.freq == FREQ_DAILY
								? "Timestamps of a daily series are whole days apart, at one time of day."
								: grid.freq == FREQ_WEEKLY
								? "Timestamps of a weekly series are whole weeks apart."
								: "Timestamps of an hourly series are whole hours apart.",
								supported_hint);
			if (whole > 1)
			{
				largest_gap = (int) Min(Max((double) largest_gap, whole - 1), (double) INT_MAX);
				if (isnan(first_gap_at))
					first_gap_at = times[i - 1] + grid.step_seconds;
			}
		}
		periods = floor((times[n - 1] - times[0]) / grid.step_seconds + 0.5) + 1;
	}
	pfree(parts);

	/* Filling more than we observed would be inventing the series. */
	if (periods - n > n)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("the %s series has more missing periods (%.0f) than observed ones (%d)",
						forecast_frequency_name(grid.freq), periods - n, n),
				 errhint("Check the time column, or aggregate to a coarser frequency.")));

	if (report != NULL)
	{
		report->n_periods = (int) periods;
		report->n_missing = (int) periods - n;
		report->largest_gap = largest_gap;
		report->first_gap_at = first_gap_at;
	}
	return grid;
}
