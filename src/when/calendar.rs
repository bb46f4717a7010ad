//! Local dates and instants in the configured zone, and which days are
//! business days (§9, §10).

use jiff::civil::{Date, DateTime};
use jiff::{Span, Timestamp};

use super::Settings;
use super::business_hours::OpeningHours;

pub(super) struct Calendar<'a> {
    settings: &'a Settings,
}

impl<'a> Calendar<'a> {
    pub(super) fn new(settings: &'a Settings) -> Calendar<'a> {
        Calendar { settings }
    }

    pub(super) fn local_date(&self, instant: Timestamp) -> Date {
        self.settings.timezone.to_datetime(instant).date()
    }

    /// A wall-clock time as an instant: a time in a DST gap moves forward by
    /// the gap, a time in a fold takes the earlier instant (§10).
    pub(super) fn instant(&self, local: DateTime) -> Option<Timestamp> {
        self.settings.timezone.to_timestamp(local).ok()
    }

    /// The opening hours of `date`, or `None` on a weekend or holiday.
    pub(super) fn business_hours(&self, date: Date) -> Option<OpeningHours> {
        if self.settings.holidays.contains(&date) {
            return None;
        }
        self.settings.business_hours.on(date.weekday())
    }

    /// The hours that bound a window on an explicit day, open or not.
    pub(super) fn hours_or_nominal(&self, date: Date) -> OpeningHours {
        self.business_hours(date)
            .unwrap_or_else(|| self.settings.business_hours.nominal())
    }

    /// Business days from `first` on, with their hours.
    pub(super) fn business_days_from(&self, first: Date) -> impl Iterator<Item = (Date, OpeningHours)> + '_ {
        // Every 7 days hold at least one open weekday and each holiday closes
        // at most one, so this many days hold two business days: enough when
        // today's window has passed and the next business day is needed.
        let search_days = 7 * (self.settings.holidays.len() + 2);
        std::iter::successors(Some(first), |date| date.tomorrow().ok())
            .take(search_days)
            .filter_map(|date| Some((date, self.business_hours(date)?)))
    }

    pub(super) fn first_business_day_from(&self, first: Date) -> Option<Date> {
        self.business_days_from(first).next().map(|(date, _)| date)
    }

    /// `instant` itself when the business is open then, otherwise the next
    /// opening (§9). This is also the fallback for text not understood.
    pub(super) fn next_business_slot(&self, instant: Timestamp) -> Timestamp {
        for (date, hours) in self.business_days_from(self.local_date(instant)) {
            let (Some(open), Some(close)) = (
                self.instant(date.to_datetime(hours.open)),
                self.instant(date.to_datetime(hours.close)),
            ) else {
                continue;
            };
            if open <= instant && instant < close {
                return instant;
            }
            if instant < open {
                return open;
            }
        }
        // Only at the edge of the representable range; now beats nothing.
        instant
    }
}

pub(super) fn add_days(date: Date, days: i64) -> Option<Date> {
    date.checked_add(Span::new().try_days(days).ok()?).ok()
}
